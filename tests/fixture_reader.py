"""A small archive for the reader's pages (front page, search, exports, reading view): five sources at
three administrative levels and of three types, articles over four months, a government article
reposted by a content farm (one repost cluster), crawl runs with an error. Built through the real
pipeline functions (upsert_sources, archive_capture, cluster_archive) in a real SQLite file; the
pages are this file's own.
"""

from __future__ import annotations

from pathlib import Path

from crawler.sources import Source
from pipelines.lineage import clusters as lineage
from pipelines.process.archive import archive_capture
from pipelines.store import migrations, storage
from pipelines.store.storage import Capture

SOURCES = [
    Source(id="taixing-gov", name="泰兴市人民政府", region="江苏省泰州市泰兴市",
           start_urls=["http://www.taixing.gov.cn/xwzx/index.html"]),
    Source(id="taizhou-gov", name="泰州市人民政府", region="江苏省泰州市",
           start_urls=["http://www.taizhou.gov.cn/xwzx/index.html"]),
    Source(id="wujin-gov", name="常州市武进区人民政府", region="江苏省常州市武进区",
           start_urls=["http://www.wj.gov.cn/col/col1229/index.html"]),
    Source(id="tz-daily", name="泰州日报", region="江苏省泰州市", source_type="media",
           start_urls=["http://news.tzdaily.example.com/"]),
    Source(id="farm", name="聚看点资讯", region="全国", start_urls=["http://www.sohu.com/media/1"]),
]

# (source, url, date, title, paragraphs)
PROJECT = ["1月14日上午，泰兴市2023年重大项目建设动员大会召开，全市共安排重大项目120个，总投资860亿元。",
           "会议要求各地各部门坚持项目为王，强化要素保障，确保项目早开工、早投产、早见效。"]
ARTICLES = [
    ("taixing-gov", "http://www.taixing.gov.cn/xwzx/202301/t20230114_1001.html", "2023-01-14",
     "泰兴市召开2023年重大项目建设动员大会", PROJECT),
    ("taixing-gov", "http://www.taixing.gov.cn/xwzx/202302/t20230208_1002.html", "2023-02-08",
     "泰兴经济开发区新能源电池材料项目开工",
     ["2月8日，泰兴经济开发区新能源电池材料项目举行开工仪式，项目总投资50亿元。",
      "项目建成后可年产正极材料10万吨，新增就业岗位1200个。"]),
    ("taixing-gov", "http://www.taixing.gov.cn/xwzx/202303/t20230316_1003.html", "2023-03-16",
     "泰兴市举办现代农业招商推介会",
     ["3月16日，泰兴市在上海举办现代农业招商推介会，现场签约农业项目12个。",
      "签约项目涵盖高标准农田、冷链物流、农产品深加工等领域。"]),
    ("taizhou-gov", "http://www.taizhou.gov.cn/xwzx/202302/t20230221_2001.html", "2023-02-21",
     "泰州市一季度重大项目集中开工",
     ["2月21日，泰州市一季度重大项目集中开工仪式举行，本次开工项目共56个，总投资418亿元。",
      "市委书记出席开工仪式并宣布项目开工。"]),
    ("taizhou-gov", "http://www.taizhou.gov.cn/xwzx/202304/t20230403_2002.html", "2023-04-03",
     "泰州市召开农业农村工作会议",
     ["4月3日，泰州市召开农业农村工作会议，部署乡村振兴重点任务。",
      "会议强调要稳定粮食生产，推进高标准农田建设，发展现代农业产业园。"]),
    ("wujin-gov", "http://www.wj.gov.cn/art/2023/3/2/art_1229_3001.html", "2023-03-02",
     "武进区召开2023年重大项目推进会",
     ["3月2日下午，武进区召开2023年重大项目推进会，总结2022年重大项目建设情况。",
      "2023年，全区共安排区级重大项目172个，总投资1860亿元。"]),
    ("wujin-gov", "http://www.wj.gov.cn/art/2023/1/5/art_1229_3002.html", "2023-01-05",
     "武進區舉行重大項目集中簽約儀式",
     ["1月5日，武進區舉行重大項目集中簽約儀式，共簽約項目42個，總投資320億元。",
      "簽約項目涵蓋新能源汽車、智能製造等領域。"]),
    ("tz-daily", "http://news.tzdaily.example.com/2023/0310/4001.html", "2023-03-10",
     "泰州港口物流项目加快建设",
     ["记者3月10日从泰州港获悉，港口物流园项目一期工程已完成主体施工。",
      "该项目总投资28亿元，建成后将新增年吞吐能力600万吨。"]),
    ("farm", "http://www.sohu.com/a/600123456_121106832", "2023-01-15",
     "泰兴120个重大项目来了！总投资860亿元", PROJECT),
]
XSS_TITLE = "泰州项目<script>alert(1)</script>"
ARTICLES.append(("tz-daily", "http://news.tzdaily.example.com/2023/0320/4002.html", "2023-03-20", XSS_TITLE,
                 ["3月20日，泰州多个项目集中签约，总投资超百亿元。", "<img src=x onerror=alert(2)>签约现场气氛热烈。"]))


def page(title: str, paragraphs: list[str], date: str, org: str) -> bytes:
    from html import escape

    body = "\n".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>{escape(title)}_{org}</title>
<meta name="ArticleTitle" content="{escape(title)}"><meta name="PubDate" content="{date} 09:30">
<meta name="ContentSource" content="{org}"></head><body>
<div class="nav"><a href="/">首页</a> <a href="/xwzx/">新闻中心</a></div>
<div class="article"><h1>{escape(title)}</h1><div class="info">发布时间：{date} 来源：{org}</div>
<div class="TRS_Editor">{body}</div></div>
<div class="footer">主办单位：{org}办公室</div></body></html>""".encode()


def build_reader_archive(directory: Path) -> tuple[Path, dict[str, int]]:
    """archive.db in directory; returns its path and the article ids by URL."""
    path = Path(directory) / "archive.db"
    db = storage.open_db(path)
    migrations.ensure_schema(db)
    storage.upsert_sources(db, SOURCES)
    regions = {s.id: s.region for s in SOURCES}
    names = {s.id: s.name for s in SOURCES}
    run = storage.start_run(db, [s.id for s in SOURCES])
    ids = {}
    for source_id, url, date, title, paragraphs in ARTICLES:
        capture = Capture(url=url, final_url=url, status=200, headers={"Content-Type": "text/html; charset=utf-8"},
                          body=page(title, paragraphs, date, names[source_id]), fetched_at="2023-04-05T08:00:00Z",
                          source_id=source_id)
        ids[url] = archive_capture(db, capture, region=regions[source_id], run_id=run).article_id
    storage.record_fetch_errors(db, run, [{"source_id": "wujin-gov", "url": "http://www.wj.gov.cn/missing.html",
                                           "kind": "article", "reason": "http 404", "status": 404}])
    storage.finish_run(db, run, status="ok", exit_status=0, articles_new=len(ARTICLES))
    lineage.cluster_archive(db)
    db.conn.close()
    return path, ids
