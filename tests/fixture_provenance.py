"""A small archive with provenance for the Datasette and browser tests: a government article that
was edited after it was archived, a content-farm repost of it, a deleted article and one behind an
anti-bot challenge. Built through the real pipeline functions (archive_capture, cluster_archive,
apply_recheck) in a real SQLite file.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from pipelines.lineage import clusters as lineage
from pipelines.process.archive import archive_capture
from pipelines.recheck.policy import CHALLENGE, CHANGED, GONE, apply_recheck, stamp
from pipelines.store import migrations, storage
from pipelines.store.storage import Capture

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


def build_provenance_archive(directory: Path) -> tuple[Path, dict[str, int]]:
    """archive.db in directory: a government article (edited once), its Sohu repost (clustered with
    it), an article deleted with a 404 and one answered by an anti-bot challenge. Returns the path
    and the article ids by role: gov, repost, other (deleted), blocked (challenge)."""
    path = directory / "archive.db"
    db = storage.open_db(path, create=True)
    migrations.ensure_schema(db)
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
    return path, ids
