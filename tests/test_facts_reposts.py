"""Reposts date their year-less events by the earliest copy: in a manifest and in the archive (real SQLite,
lineage clusters computed by pipelines.lineage), and an undated page by its 上一篇 / 下一篇 links."""

import lxml.html

from pipelines.extract.article import extract_article
from pipelines.extract.metadata_cn import neighbour_date
from pipelines.facts import extract_facts
from pipelines.facts.reposts import anchors, date_reposts, with_facts_of_copies
from pipelines.facts.store import store_facts
from pipelines.lineage.incremental import update_lineage
from pipelines.store import migrations, storage

BRIEFING = ("2月26日，全市重大项目建设推进会在开发区召开。市委书记李明远出席会议并讲话，"
            "市委副书记、市长赵建国主持会议。"
            "会议指出，去年全市项目建设逆势而上，新开工亿元以上项目86个，完成投资同比增长12.5%。"
            "今年要紧盯目标任务，全力推进产业项目落地，确保一季度实现开门红。会上，15个重大项目集中签约，"
            "总投资236亿元，涵盖新能源、新材料、高端装备等领域。各地各部门要强化要素保障，优化营商环境，"
            "以项目建设的高质量推动经济社会发展的高质量。")


def dates(facts):
    return [(f["date"], f.get("year_from")) for f in facts if f["kind"] == "event_date"]


def test_anchors_give_later_and_undated_copies_the_earliest_date():
    assert anchors([(1, "2024-09-24"), (2, "2021-02-27 10:00"), (3, None), (4, "2021-02-27")]) == {
        1: "2021-02-27", 3: "2021-02-27"}
    assert anchors([(1, None), (2, None)]) == {}


def test_manifest_pages_that_copy_one_text_are_dated_by_the_earliest():
    lines = [{"id": "farm", "url": "http://farm.example.com/a/1.html", "title": "项目建设争朝夕",
              "text": BRIEFING + "\n更多精彩内容请关注本站。", "published": "2024-09-24"},
             {"id": "gov", "url": "http://www.example.gov.cn/art/2021/2/27/1.html", "title": "项目建设争朝夕",
              "text": BRIEFING, "published": "2021-02-27"},
             {"id": "other", "url": "http://b.example.gov.cn/1.html", "title": "另一篇",
              "text": "2月26日，全县安全生产工作会议召开。", "published": "2024-02-27"},
             {"id": "broken", "url": "http://x/", "error": "no article text", "text": ""}]
    out = {line["id"]: line for line in with_facts_of_copies(lines)}
    assert dates(out["farm"]["facts"]) == [("2021-02-26", "earliest copy 2021-02-27")]
    assert dates(out["gov"]["facts"]) == [("2021-02-26", None)]
    assert dates(out["other"]["facts"]) == [("2024-02-26", None)]
    assert out["broken"]["facts"] == []


def add_article(db, url, published):
    article = {"url": url, "title": "项目建设争朝夕", "text": BRIEFING, "published": published}
    row = storage.article_row(article, source_id="a", region=None, capture_id=None,
                              fetched_at="2024-09-25T00:00:00Z")
    article_id, _ = storage.upsert_article(db, row)
    # as processing writes them: each copy dated by its own publication
    store_facts(db, article_id, extract_facts(BRIEFING, published))
    return article_id


def event_dates(db, article_id):
    return [(r["date"], r["extra"]) for r in db.query(
        "select date, extra from facts where article_id = ? and kind = 'event_date'", [article_id])]


def test_archive_redates_the_copies_of_the_clusters_a_run_touched(tmp_path):
    db = storage.open_db(tmp_path / "archive.db")
    migrations.ensure_schema(db)
    since = storage.utc_now()
    repost = add_article(db, "http://farm.example.com/a/1.html", "2024-09-24")
    original = add_article(db, "http://www.example.gov.cn/art/2021/2/27/1.html", "2021-02-27")
    same_week = add_article(db, "http://news.example.com/2021/0228/1.html", "2021-02-28")
    assert event_dates(db, repost) == [("2024-02-26", None)]
    update_lineage(db)
    assert db["article_clusters"].count == 3
    stats = date_reposts(db, since)
    assert stats == {"clusters": 1, "redated": 1}  # the copy of the next day reads the same dates: untouched
    assert event_dates(db, same_week) == [("2021-02-26", None)]
    [(when, extra)] = event_dates(db, repost)
    assert when == "2021-02-26" and "earliest copy 2021-02-27" in extra
    assert event_dates(db, original) == [("2021-02-26", None)]
    investments = db.execute("select count(*) from facts where article_id = ? and kind = 'investment'",
                             [repost]).fetchone()[0]
    assert investments == 1  # the other facts rewritten, not doubled
    # idempotent; and a run that touched nothing touches nothing
    date_reposts(db, since)
    assert event_dates(db, repost)[0][0] == "2021-02-26"
    assert date_reposts(db, "2999-01-01T00:00:00Z") == {"clusters": 0, "redated": 0}
    assert db.execute("pragma integrity_check").fetchone()[0] == "ok"


NEIGHBOURS = """<html><head><meta charset="gbk"><title>项目集中开工</title></head><body>
<h1>全市重大项目集中开工</h1>
<div class="content"><p>9月23日，全市重大项目集中开工活动举行。市委书记李明远出席并宣布开工，市长赵建国致辞。
本次集中开工项目32个，总投资168亿元，涵盖先进制造、现代服务业和基础设施等领域。</p>
<p>全市上下要以项目建设为抓手，推动经济社会高质量发展，为全年目标任务打下坚实基础。</p></div>
<div class="pages"><a href="/list_2.html">上一页</a> 2023年1月1日</div>
<ul class="nav"><li>上一篇：<a href="/88639.html">全市安全生产会议召开</a> <span>2022-09-17</span></li>
<li>下一篇：<a href="/88641.html">区委中心组学习</a> <span>2022-09-08</span></li></ul>
</body></html>""".encode("gbk")


def test_an_undated_page_is_dated_by_its_neighbour_links():
    doc = lxml.html.fromstring(NEIGHBOURS)
    assert neighbour_date(doc) == "2022-09-17"  # the latest; the pager's 上一页 is not a neighbour
    inline = lxml.html.fromstring('<div><a href="/1.html">上一篇 2018年8月2日</a><a href="/3.html">下一篇 '
                                  '2018年6月23日</a></div>')
    assert neighbour_date(inline) == "2018-08-02"
    # a site map's thousands of links in one item beside the neighbour links: each item read once
    site_map = "".join(f'<a href="/{n}.html">第{n}期工作简报</a>' for n in range(3000))
    crowded = lxml.html.fromstring(f'<div><div class="map">{site_map}</div><ul><li>上一篇：<a href="/1.html">'
                                   '全市项目观摩会召开</a> 2019-03-04</li></ul></div>')
    assert neighbour_date(crowded) == "2019-03-04"
    article = extract_article(NEIGHBOURS, "http://wenku.example.com/88640.html", "text/html; charset=gbk")
    assert article.published is None and article.posted_near == "2022-09-17"
    assert article.provenance["published"]["posted_near"] == "2022-09-17"
    [fact] = [f for f in extract_facts(article.text, article.published, posted_near=article.posted_near)
              if f["kind"] == "event_date"]
    assert fact["date"] == "2022-09-23"
