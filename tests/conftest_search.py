"""A small fixture archive for the search, Datasette and browser tests.

Built through the real storage API (open_db / ensure_schema / upsert_article) in a real SQLite
file, so the search index is maintained exactly as during a crawl. Imported by the test modules
(``from conftest_search import build_archive``); plain functions, not fixtures, so each module
chooses its own scope.
"""

from __future__ import annotations

import random
from pathlib import Path

from pipelines.chinese import to_simplified
from pipelines.store import migrations, storage

XSS_TITLE = "<script>alert(1)</script>泰州项目"
XSS_TEXT = ('项目公告<img src=x onerror="document.title=\'pwned\';alert(2)">正文。'
            "<script>document.title='pwned'</script>泰州招商")

# (source_id, region, published, script, title, text)
HAND_WRITTEN: list[tuple[str, str, str, str, str, str]] = [
    ("taizhou-gov", "泰州", "2024-05-06", "hans", "泰州市重大项目集中开工",
     "5月6日，泰州市举行重大项目集中开工仪式。\n共有32个项目开工，总投资超过300亿元。\n市委书记出席并讲话。"),
    ("taizhou-gov", "泰州", "2024-06-11", "hans", "泰州招商引资推介会在上海举行",
     "推介会上签约项目18个。\n泰州将继续优化营商环境。"),
    ("taizhou-gov", "泰州", "2023-11-02", "hans", "农业农村工作会议召开",
     "会议部署乡村振兴重点任务，推进现代农业产业园建设。"),
    ("taizhou-gov", "泰州", "2023-03-15", "hans", "一季度经济运行情况",
     "全市地区生产总值同比增长6.1%，ＧＤＰ增速位居全省前列。"),
    ("nanjing-dev", "南京", "2024-01-20", "hans", "南京江北新区签约新能源项目",
     "新能源汽车零部件项目落户江北新区，年产值预计50亿元。"),
    ("nanjing-dev", "南京", "2022-08-08", "hans", "南京市召开安全生产会议",
     "会议要求各部门落实安全生产责任。"),
    ("nanjing-dev", "南京", "2024-02-29", "hans", "新区营商环境持续优化",
     "审批时限压缩至3个工作日。Invest in Nanjing: one-stop service."),
    ("hk-gov", "香港", "2024-03-01", "hant", "農業發展項目啟動",
     "香港特區政府宣佈新的農業發展項目，支持本地農場。\n項目預算為二億港元。"),
    ("hk-gov", "香港", "2023-07-19", "hant", "機場第三跑道系統啟用",
     "機場管理局表示，新跑道將提升航空交通容量。"),
    ("tw-gov", "臺灣", "2024-04-10", "hant", "臺中市招商引資成果",
     "臺中市政府表示，今年引進投資金額創新高，產業園區建設順利。"),
    ("tw-gov", "臺灣", "2022-12-30", "hant", "鐵路建設計畫",
     "鐵路改善計畫完成第一階段，經濟效益顯著。"),
    ("taizhou-gov", "泰州", "2024-07-01", "hans", XSS_TITLE, XSS_TEXT),
    ("yangzhou-gov", "扬州", "2021-09-09", "hans", "扬州文化旅游项目签约",
     "扬州市与多家企业签约文化旅游项目。\n\n项目涵盖运河沿线。"),
    ("yangzhou-gov", "扬州", "2024-08-18", "hans", "扬州召开招商工作会议",
     "会议强调，招商引资是经济工作的生命线。"),
    ("yangzhou-gov", "扬州", "2020-01-05", "hans", "项目",
     "项"),
    ("suzhou-gov", "苏州", "2024-09-30", "hans", "苏州工业园区半导体项目投产",
     "项目总投资120亿元，主要生产12英寸晶圆。"),
    ("suzhou-gov", "苏州", "2023-05-05", "hans", "苏州加快数字经济发展",
     "苏州出台数字经济三年行动计划，推进数字化转型。"),
    ("suzhou-gov", "苏州", "2019-10-10", "hans", "苏州园林保护条例",
     "条例明确了园林保护的责任主体。"),
    ("wuxi-gov", "无锡", "2024-10-01", "hans", "无锡物联网产业发展报告",
     "物联网产业规模突破四千亿元。"),
    ("wuxi-gov", "无锡", "2022-06-06", "hans", "无锡太湖治理成效",
     "太湖水质持续改善，生态环境明显好转。"),
]


def synthetic_articles(n: int = 150, seed: int = 20240506) -> list[tuple[str, str, str, str, str, str]]:
    """Dense random texts over a small alphabet, so that almost every 2-5 character string is found
    in some articles and not in others: a strict test of exact recall."""
    rng = random.Random(seed)
    alphabet = "项目建设泰州招商农业发展经济区县市镇村工程投资园年月日的一是在了和"
    trad = "項目建設農業發展經濟區縣鎮園"
    rows = []
    for i in range(n):
        chars = alphabet + (trad if i % 5 == 0 else "")
        text = "".join(rng.choice(chars) for _ in range(rng.randint(20, 120)))
        # punctuation and spaces split runs: substrings across them must not match
        for _ in range(rng.randint(0, 4)):
            pos = rng.randrange(len(text))
            text = text[:pos] + rng.choice("，。 、（）\n") + text[pos:]
        title = "".join(rng.choice(chars) for _ in range(rng.randint(4, 12)))
        region = rng.choice(["泰州", "南京", "扬州"])
        rows.append((f"synthetic-{i % 3}", region, f"{2018 + i % 7}-{1 + i % 12:02d}-{1 + i % 28:02d}",
                     "hant" if i % 5 == 0 else "hans", title, text))
    return rows


def article_dict(i: int, source_id: str, region: str, published: str, script: str, title: str,
                 text: str) -> dict:
    return {"url": f"https://gov.example.cn/{source_id}/{i}.html", "title": title, "text": text,
            "published": published, "published_source": "meta", "source_org": f"{region}市人民政府",
            "author": None, "editor": None, "script": script, "language": "zh",
            "title_simplified": to_simplified(title), "text_simplified": to_simplified(text),
            "extractor_version": "test"}


def build_archive(directory: Path, *, synthetic: int = 150) -> Path:
    """archive.db in ``directory`` with the hand-written articles, ``synthetic`` random ones, a
    capture for the first article, sources, two crawl runs and a fetch error."""
    path = Path(directory) / "archive.db"
    db = storage.open_db(path)
    migrations.ensure_schema(db)
    sources = sorted({r[0]: r[1] for r in HAND_WRITTEN + synthetic_articles(synthetic)}.items())
    db["sources"].insert_all([{"id": s, "name": f"{s} website", "region": region, "start_urls": "[]",
                               "config": "{}", "updated_at": "2024-01-01T00:00:00Z"}
                              for s, region in sources])
    run_ok = storage.start_run(db, [s for s, _ in sources])
    capture_id = storage.insert_capture(db, storage.Capture(
        url="https://gov.example.cn/taizhou-gov/0.html", final_url="https://gov.example.cn/taizhou-gov/0.html",
        status=200, headers={"Content-Type": "text/html; charset=utf-8"},
        body="<html><head><title>泰州市重大项目集中开工</title></head><body><p>5月6日，泰州市举行重大项目集中开工仪式。</p>"
             "<script>document.title='pwned'</script></body></html>".encode(),
        fetched_at="2024-05-06T08:00:00Z", source_id="taizhou-gov"), run_id=run_ok)
    for i, row in enumerate(HAND_WRITTEN + synthetic_articles(synthetic)):
        data = article_dict(i, *row)
        article = storage.article_row(data, source_id=row[0], region=row[1],
                                      capture_id=capture_id if i == 0 else None,
                                      fetched_at="2024-05-06T08:00:00Z")
        storage.upsert_article(db, article)
    storage.record_fetch_errors(db, run_ok, [{
        "source_id": "taizhou-gov", "url": "https://gov.example.cn/taizhou-gov/missing.html",
        "kind": "article", "reason": "http 404", "status": 404},
        # a link known to be dead, failing again: counted apart from new failures
        {"source_id": "taizhou-gov", "url": "https://gov.example.cn/taizhou-gov/gone.html", "kind": "article",
         "reason": "http 404", "status": 404, "category": "known_dead"}])
    storage.finish_run(db, run_ok, status="ok", exit_status=0, articles_new=len(HAND_WRITTEN))
    db.conn.close()
    return path
