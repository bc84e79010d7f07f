"""Provenance in Datasette: the article page shows where else the text was published, every stored
capture, the versions re-checks found and a deletion; canned queries give the history, the re-check
log and the copies of a URL; the changed/deleted views list them.

The archive is built through the real pipeline functions (archive_capture, cluster_archive,
apply_recheck) in a real SQLite file and read through Datasette's own test client.
"""

from __future__ import annotations

import asyncio
import html
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest

from govbrief.serve import make_datasette
from pipelines import lineage, storage
from pipelines.archive import archive_capture
from pipelines.recheck import CHALLENGE, CHANGED, GONE, apply_recheck, stamp
from pipelines.storage import Capture

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
GOV_URL = "http://www.taizhou.gov.cn/xwzx/202603/t20260302_1001.html"
REPOST_URL = "http://www.sohu.com/a/700123456_121106842"
OTHER_URL = "http://www.taizhou.gov.cn/xwzx/202603/t20260302_1002.html"
BLOCKED_URL = "http://www.taizhou.gov.cn/xwzx/202603/t20260302_1003.html"

PARAS = [
    "3月2日，泰州市重大产业项目集中开工仪式在高港区举行，本次集中开工项目共32个，总投资达256亿元，"
    "涵盖新能源、高端装备、生物医药等领域。",
    "市委书记在开工仪式上指出，要坚持项目为王，全力以赴抓招商、上项目、强产业，以高质量项目支撑高质量发展。"
    "各地各部门要强化要素保障，优化营商环境，确保项目早开工、早投产、早见效。",
    "据了解，今年全市计划实施重大产业项目200个以上，年度计划投资超过800亿元，其中省级重大项目28个。",
]
OTHER_PARAS = [
    "3月2日，泰州市召开农业农村工作会议，总结去年工作，部署今年乡村振兴重点任务。",
    "会议强调，要稳定粮食生产，推进高标准农田建设，发展现代农业产业园，促进农民持续增收。"
    "各市（区）要压实责任，抓好春耕备耕，确保全年粮食总产稳定在60亿斤以上。",
]
BLOCKED_PARAS = [
    "一季度，全市地区生产总值同比增长6.1%，增速位居全省前列，规模以上工业增加值增长8.3%。",
    "固定资产投资同比增长7.5%，其中工业投资增长12.4%，社会消费品零售总额增长6.8%，外贸进出口保持稳定。",
]
# a repost title that carries markup: it must show as text on every page
REPOST_TITLE = "泰州32个重大项目集中开工&lt;script&gt;alert(1)&lt;/script&gt;"


def gov_page(title: str, paras: list[str], date: str = "2026-03-02") -> bytes:
    body = "\n".join(f"<p>{p}</p>" for p in paras)
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title}_泰州市人民政府</title>
<meta name="ArticleTitle" content="{title}"><meta name="PubDate" content="{date} 09:30">
<meta name="ContentSource" content="泰州市发展和改革委员会"></head><body>
<div class="nav"><a href="/">首页</a> <a href="/xwzx/">新闻中心</a></div>
<div class="article"><h1>{title}</h1><div class="info">发布时间：{date} 来源：泰州市发展和改革委员会</div>
<div class="TRS_Editor">{body}</div></div>
<div class="footer">主办单位：泰州市人民政府办公室</div></body></html>""".encode()


def repost_page() -> bytes:
    body = "\n".join(f"<p>{p}</p>" for p in PARAS)
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>{REPOST_TITLE}_搜狐</title></head><body>
<h1 class="title">{REPOST_TITLE}</h1><div class="info">2026-03-03 10:12 来源：泰州发布</div>
<article class="article">{body}<p>原标题：泰州市重大产业项目集中开工</p>
<p>责任编辑：王明</p></article>
<div class="related">相关阅读 <a href="/a/1">泰州推进会</a></div></body></html>""".encode()


def capture(url: str, body: bytes, at: datetime, status: int = 200, source_id: str = "taizhou-gov") -> Capture:
    return Capture(url=url, final_url=url, status=status, headers={"Content-Type": "text/html; charset=utf-8"},
                   body=body, fetched_at=stamp(at), source_id=source_id)


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    path = tmp_path_factory.mktemp("provenance") / "archive.db"
    db = storage.open_db(path, create=True)
    storage.ensure_schema(db)
    gov_title = "泰州市重大产业项目集中开工"
    ids = {
        "gov": archive_capture(db, capture(GOV_URL, gov_page(gov_title, PARAS), T0), region="泰州").article_id,
        "repost": archive_capture(db, capture(REPOST_URL, repost_page(), T0 + timedelta(hours=30), source_id="sohu"),
                                  region=None).article_id,
        "other": archive_capture(db, capture(OTHER_URL, gov_page("农业农村工作会议召开", OTHER_PARAS), T0),
                                 region="泰州").article_id,
        "blocked": archive_capture(db, capture(BLOCKED_URL, gov_page("一季度经济运行情况", BLOCKED_PARAS), T0),
                                   region="泰州").article_id,
    }
    assert all(ids.values())
    lineage.cluster_archive(db)
    edited = [PARAS[0].replace("32个", "35个").replace("256亿元", "281亿元"), *PARAS[1:]]
    later = T0 + timedelta(days=20)
    assert apply_recheck(db, capture(GOV_URL, gov_page(gov_title, edited), later)) == CHANGED
    assert apply_recheck(db, capture(OTHER_URL, b"<html><body><h1>404 Not Found</h1></body></html>", later,
                                     status=404)) == GONE
    challenge = (b"<html><body><script>document.cookie='__jsl_clearance_s=1';location.reload()</script>"
                 b"</body></html>")
    assert apply_recheck(db, capture(BLOCKED_URL, challenge, later, status=521)) == CHALLENGE
    db.conn.close()
    return {"path": path, "ids": ids, "ds": make_datasette(str(path))}


def get(ds: Any, path: str) -> Any:
    async def go() -> Any:
        return await ds.client.get(path)

    response = asyncio.run(go())
    assert response.status_code == 200, (path, response.status_code, response.text[:500])
    return response


def section(page: str, element_id: str) -> str:
    """The HTML of the element with this id, up to its closing tag (tables and paragraphs here)."""
    start = page.index(f'id="{element_id}"')
    tag = page[page.rindex("<", 0, start) + 1:start].split()[0]
    return page[start:page.index(f"</{tag}>", start)]


def test_repost_is_clustered_with_the_government_original(archive: dict) -> None:
    ds, ids = archive["ds"], archive["ids"]
    rows = get(ds, f"/archive/also_published.json?url={quote(REPOST_URL)}&_shape=array").json()
    assert [(r["article_id"], r["is_canonical"]) for r in rows] == [(ids["gov"], 1)]
    rows = get(ds, f"/archive/also_published.json?url={quote(GOV_URL)}&_shape=array").json()
    assert [(r["article_id"], r["is_canonical"]) for r in rows] == [(ids["repost"], 0)]
    assert get(ds, f"/archive/also_published.json?url={quote(OTHER_URL)}&_shape=array").json() == []


def test_article_page_shows_also_published_at(archive: dict) -> None:
    ds, ids = archive["ds"], archive["ids"]
    gov = get(ds, f"/archive/articles/{ids['gov']}").text
    table = section(gov, "also-published")
    assert f'href="{REPOST_URL}"' in table and f"/archive/articles/{ids['repost']}" in table
    assert "This article is the canonical copy" in gov
    repost = get(ds, f"/archive/articles/{ids['repost']}").text
    table = section(repost, "also-published")
    assert f'href="{GOV_URL}"' in table and "(canonical)" in table
    assert "This article is the canonical copy" not in repost
    other = get(ds, f"/archive/articles/{ids['other']}").text
    assert 'id="also-published-none"' in other and 'id="also-published"' not in other


def test_article_page_lists_every_capture_and_the_versions(archive: dict) -> None:
    ds, ids = archive["ds"], archive["ids"]
    page = get(ds, f"/archive/articles/{ids['gov']}").text
    db = storage.open_db(archive["path"])
    capture_ids = [r["id"] for r in db.query("select id from captures where url = ? order by id desc", [GOV_URL])]
    current = db["articles"].get(ids["gov"])["capture_id"]
    db.conn.close()
    assert len(capture_ids) == 2 and current == capture_ids[0]
    captures = section(page, "captures")
    positions = [captures.index(f'href="/-/govbrief/capture/archive/{c}"') for c in capture_ids]
    assert positions == sorted(positions)  # newest first
    assert "(used for the text above)" in captures
    versions = section(page, "versions")
    assert "v2" in versions and "v1" in versions and "共3[-2-]{+5+}个" in html.unescape(versions)
    link = section(page, "article-history-link")
    assert f'href="/archive/article_history?url={quote(GOV_URL)}"' in link


def test_history_canned_query_has_the_diff(archive: dict) -> None:
    rows = get(archive["ds"], f"/archive/article_history.json?url={quote(GOV_URL)}&_shape=array").json()
    assert [r["version"] for r in rows] == [1, 2]
    assert rows[0]["diff"] is None
    assert "-" in rows[1]["diff"] and "32个" in rows[1]["diff"] and "35个" in rows[1]["diff"]
    changed = get(archive["ds"], "/archive/changed_articles.json?_shape=array").json()
    assert [(r["article_id"], r["version"]) for r in changed] == [(archive["ids"]["gov"], 2)]


def test_deleted_article_keeps_its_text_and_says_since_when(archive: dict) -> None:
    ds, ids = archive["ds"], archive["ids"]
    page = get(ds, f"/archive/articles/{ids['other']}").text
    banner = section(page, "article-gone")
    assert "2026-03-22" in banner and "http_404" in banner
    assert "推进高标准农田建设" in section(page, "article-text")
    deleted = get(ds, "/archive/deleted_articles.json?_shape=array").json()
    assert [(r["article_id"], r["gone_reason"]) for r in deleted] == [(ids["other"], "http_404")]
    log = get(ds, f"/archive/recheck_log.json?url={quote(OTHER_URL)}&_shape=array").json()
    assert [(r["event"], r["status"], r["reason"]) for r in log] == [("gone", 404, "http_404")]


def test_challenge_is_logged_but_not_a_deletion(archive: dict) -> None:
    ds, ids = archive["ds"], archive["ids"]
    page = get(ds, f"/archive/articles/{ids['blocked']}").text
    assert 'id="article-gone"' not in page
    assert "latest: challenge" in page
    log = get(ds, f"/archive/recheck_log.json?url={quote(BLOCKED_URL)}&_shape=array").json()
    assert [(r["event"], r["status"]) for r in log] == [("challenge", 521)]


def test_provenance_tables_render_archived_markup_as_text(archive: dict) -> None:
    ds, ids = archive["ds"], archive["ids"]
    for path in (f"/archive/articles/{ids['gov']}", f"/archive/articles/{ids['repost']}",
                 f"/archive/also_published?url={quote(GOV_URL)}"):
        page = get(ds, path).text
        assert "<script>alert(1)" not in page, path
        assert "&lt;script&gt;alert(1)" in page, path


def test_provenance_tables_are_described(archive: dict) -> None:
    ds = archive["ds"]
    for table in ("article_versions", "article_events", "changed_articles", "deleted_articles", "clusters",
                  "article_clusters"):
        assert ds.table_metadata("archive", table).get("title"), table
    for query in ("article_history", "recheck_log", "also_published"):
        assert get(ds, f"/archive/{query}.json?url=http%3A%2F%2Fnowhere.example%2F&_shape=array").json() == []
