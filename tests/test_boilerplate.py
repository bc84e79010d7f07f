"""Per-site boilerplate learning: in memory (manifests) and in the archive (sqlite on a tmp file)."""

from __future__ import annotations

from pathlib import Path

import sqlite_utils

from pipelines.extract.article import extract_article
from pipelines.extract.boilerplate import (
    PageLines,
    boilerplate_for_host,
    ensure_boilerplate_schema,
    learn_boilerplate,
    lines_of_page,
    observe_lines,
    observe_page,
)
from pipelines.extract.clean_rules import fingerprint

ARTICLES = [
    "东湖区举行新能源电池项目开工仪式，该项目是今年全区投资规模最大的产业项目，建成后将形成产业链。",
    "西山区召开智能装备产业推进会，会议总结了上半年产业发展情况，并对下半年工作作出部署安排。",
    "南岭区生物医药产业园正式投入运营，首批入驻企业十二家，预计年产值可达三十亿元以上规模。",
    "北川区现代物流园区建设提速，园区一期工程已完成主体建设，二期工程计划于明年开工建设实施。",
    "中原区电子信息产业集群加快发展，全区规模以上电子信息企业营业收入同比增长百分之二十以上。",
]


def page(i: int, article: str | None = None) -> bytes:
    article = article or ARTICLES[i]
    return f"""<html><head><meta charset="gbk"><title>新闻{i}</title></head><body>
<div class="top"><p>本站专栏：乡村振兴进行时</p><p>浏览次数：{100 + i * 37}</p></div>
<h1>新闻标题第{i}条</h1><div class="c"><p>{article}</p><p>特此通知。</p></div>
<div class="foot"><p>携手共建美好家园</p></div></body></html>""".encode("gbk")


def test_lines_of_page_reads_gbk_bytes_and_collapses_digits() -> None:
    lines = lines_of_page(page(0), "text/html")
    assert fingerprint("浏览次数：999") in lines.fingerprints
    assert "本站专栏：乡村振兴进行时" in lines.fingerprints
    assert "特此通知。" not in lines.fingerprints  # short sentence-final lines are article formulae
    assert lines.signature


def test_learn_boilerplate_in_memory_counts_copies_once() -> None:
    pages = [lines_of_page(page(i)) for i in range(5)]
    learned = learn_boilerplate(pages)
    assert {"本站专栏：乡村振兴进行时", "携手共建美好家园", fingerprint("浏览次数：1")} <= learned
    assert not any(fingerprint(a) in learned for a in ARTICLES)
    # five copies of one article are one page: nothing is learned from them
    copies = [lines_of_page(page(i, ARTICLES[0])) for i in range(5)]
    assert learn_boilerplate(copies) == frozenset()


def test_archive_observe_and_query(tmp_path: Path) -> None:
    db = sqlite_utils.Database(tmp_path / "archive.db")
    ensure_boilerplate_schema(db)
    ensure_boilerplate_schema(db)  # idempotent
    host = "www.example.gov.cn"
    assert boilerplate_for_host(db, host) == frozenset()
    for i in range(5):
        assert observe_page(db, host, page(i), f"http://{host}/{i}.html", "text/html; charset=gbk")
    # the same URL again, and a copy of an observed article under a new URL, are not counted
    assert not observe_page(db, host, page(0), f"http://{host}/0.html")
    assert not observe_page(db, host, page(0), f"http://{host}/print/0.html")
    assert db["boilerplate_hosts"].get(host)["pages"] == 5
    learned = boilerplate_for_host(db, host)
    assert "携手共建美好家园" in learned and "本站专栏：乡村振兴进行时" in learned
    assert not any(fingerprint(a) in learned for a in ARTICLES)
    assert boilerplate_for_host(db, "other.example.com") == frozenset()

    article = extract_article(page(4), f"http://{host}/4.html", boilerplate=learned)
    assert article is not None and article.text.splitlines()[0] == ARTICLES[4]
    assert "携手共建" not in article.text and "乡村振兴进行时" not in article.text


def test_archive_prunes_singletons(tmp_path: Path, monkeypatch) -> None:
    import pipelines.extract.boilerplate as bp

    monkeypatch.setattr(bp, "PRUNE_EVERY", 4)
    db = sqlite_utils.Database(tmp_path / "a.db")
    ensure_boilerplate_schema(db)
    for i in range(8):
        observe_lines(db, "h", f"u{i}", PageLines(frozenset({"chrome", f"unique{i}"}), f"sig{i}"))
    fps = {r["fp"] for r in db["boilerplate_lines"].rows}
    assert "chrome" in fps
    assert "unique0" not in fps  # seen once, long ago: forgotten
    assert "unique7" in fps
