"""A small archive with facts for the Datasette and browser tests: government articles of two places
over three months, and a content-farm repost of one of them (same announcement, one lineage cluster).
Built through the real pipeline functions (archive_capture, cluster_archive) in a real SQLite file.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from pipelines.lineage import clusters as lineage
from pipelines.process.archive import archive_capture
from pipelines.store import migrations, storage
from pipelines.store.storage import Capture

# (url, region, published, paragraphs): invented officials and companies, real administrative units
ARTICLES = [
    ("http://www.jiangyan.gov.cn/art/2025/1/8/1.html", "江苏省泰州市", "2025-01-08", [
        "1月6日，姜堰区一季度重大项目集中开工活动举行。区委书记方明远出席并宣布开工，区委副书记、区长许志恒主持。",
        "本次集中开工项目18个，总投资126亿元。其中，高端装备产业园项目总投资40亿元，计划明年建成投产。",
        "去年全区新签约亿元以上项目52个，同比增长18.2%。"]),
    ("http://www.jiangyan.gov.cn/art/2025/2/20/2.html", "江苏省泰州市", "2025-02-20", [
        "2月18日，姜堰区举行招商引资项目集中签约仪式，9个重大项目集中签约，协议投资超60亿元。",
        "区委书记方明远在致辞中表示，要以一流营商环境服务项目建设。新材料项目总投资1.5亿美元。"]),
    ("http://www.hailing.gov.cn/art/2025/3/3/3.html", "江苏省泰州市", "2025-03-03", [
        "3月1日，海陵区召开一季度项目推进会。区长朱海波出席会议并讲话。",
        "会上通报，全区在建重点项目36个，其中智能制造产业基地项目总投资22亿元，已竣工投产。"]),
]
REPOST = ("http://www.farm.example.com/news/88001.html", "2025-01-09")
T0 = datetime(2025, 3, 5, 8, 0, tzinfo=UTC)


def page(title: str, published: str, paras: list[str]) -> bytes:
    body = "\n".join(f"<p>{p}</p>" for p in paras)
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title}</title>
<meta name="ArticleTitle" content="{title}"><meta name="PubDate" content="{published} 09:00"></head><body>
<div class="nav"><a href="/">首页</a></div><div class="article"><h1>{title}</h1>
<div class="TRS_Editor">{body}</div></div><div class="footer">主办单位：人民政府办公室</div></body></html>""".encode()


def capture(url: str, body: bytes, source_id: str) -> Capture:
    return Capture(url=url, final_url=url, status=200, headers={"Content-Type": "text/html; charset=utf-8"},
                   body=body, fetched_at=T0.strftime("%Y-%m-%dT%H:%M:%SZ"), source_id=source_id)


def build_facts_archive(directory: Path) -> tuple[Path, dict[str, int]]:
    """archive.db in directory; returns it and article ids: first, second, third, repost."""
    path = Path(directory) / "archive.db"
    db = storage.open_db(path)
    migrations.ensure_schema(db)
    ids = {}
    for role, (url, region, published, paras) in zip(("first", "second", "third"), ARTICLES, strict=True):
        title = paras[0][:16]
        ids[role] = archive_capture(db, capture(url, page(title, published, paras), "gov"), region=region).article_id
    url, published = REPOST
    first_paras = ARTICLES[0][3]
    ids["repost"] = archive_capture(db, capture(url, page("姜堰区重大项目集中开工", published, first_paras), "farm"),
                                    region=None).article_id
    lineage.cluster_archive(db)
    db.conn.close()
    return path, ids
