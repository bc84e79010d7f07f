"""Sites never seen before (tests/unseenweb.py): every pager shape, every article exactly once.

One module-scoped archive, crawled twice by real `govbrief crawl` processes over real HTTP. No source
names an article_url_pattern: the pager rules (crawler/rules/pagers.yml) and the generic list rules
are what finds the articles.
"""

from __future__ import annotations

import json
import sqlite3
import urllib.parse
import urllib.request

import pytest
from support import rows, run_crawl
from unseenweb import (
    ATTACHMENTS,
    COLUMNS,
    DEAD_LINK,
    JPAGE_FORM,
    JPAGE_TOTAL,
    META_JS,
    MULTIPAGE,
    MULTIPAGE_PARTS,
    ROBOTS_REFUSED,
    SOFT_404,
    SPREADSHEET_LINK,
    WITH_ATTACHMENTS,
    sitemap_article,
    start_unseen_web,
)

from pipelines.search import search_index


@pytest.fixture(scope="module")
def unseen(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("unseen")
    with start_unseen_web() as web:
        sources, db = tmp / "sources.yml", tmp / "archive.db"
        sources.write_text(web.sources_yaml(), encoding="utf-8")
        first = run_crawl(sources, db)
        first_hits = len(web.hits)
        second = run_crawl(sources, db)
        second_hits = len(web.hits)
        # a later run once the dead link's backoff is over: its next try moved into the past
        conn = sqlite3.connect(db)
        with conn:
            conn.execute("update crawl_frontier set next_try = '2000-01-01T00:00:00Z' where url = ?",
                         [web.url(DEAD_LINK)])
        conn.close()
        # and the site changed one sitemap: new <lastmod>, one more article
        web.sitemap_lastmod["/sm/b.xml"] = "2024-06-01"
        web.sitemap_extra.append(9)
        third = run_crawl(sources, db)
        yield {"web": web, "db": db, "first": first, "second": second, "third": third,
               "second_hits": list(web.hits[first_hits:second_hits]), "third_hits": list(web.hits[second_hits:])}


def archived_urls(unseen) -> list[str]:
    return [r["url"] for r in rows(unseen["db"], "select url from articles")]


def test_every_article_of_every_pager_shape_archived_once(unseen):
    assert unseen["first"].returncode == 0, unseen["first"].stdout + unseen["first"].stderr[-2000:]
    urls = archived_urls(unseen)
    assert len(urls) == len(set(urls))
    expected = unseen["web"].expected_articles()
    expected.discard(unseen["web"].url(sitemap_article(9)))  # added to the site before the third run
    assert set(urls) - {unseen["web"].url(sitemap_article(9))} == expected, {
        "missing": sorted(expected - set(urls)), "extra": sorted(set(urls) - expected)}


@pytest.mark.parametrize("column", COLUMNS, ids=[c.kind for c in COLUMNS])
def test_each_column_complete(unseen, column):
    web = unseen["web"]
    got = set(archived_urls(unseen))
    assert {web.url(p) for p in column.all_articles()} <= got


def test_hanweb_jpage_records_fetched_by_post_with_the_column_form(unseen):
    web = unseen["web"]
    posts = web.posts
    assert posts, "no POST to the jpage data proxy"
    for post in posts:
        assert post["request"].startswith("/module/web/jpage/dataproxy.jsp?startrecord=")
        assert {k: post[k] for k in ("columnid", "unitid", "webid")} == {
            k: JPAGE_FORM[k] for k in ("columnid", "unitid", "webid")}
    jpage = [u for u in archived_urls(unseen) if "/art/2024/" in u]
    assert len(jpage) == JPAGE_TOTAL


def test_non_articles_never_become_article_rows(unseen):
    web, urls = unseen["web"], set(archived_urls(unseen))
    assert web.url(SOFT_404) not in urls and web.url(SPREADSHEET_LINK) not in urls
    reasons = {r["url"]: r["reason"] for r in rows(unseen["db"], "select url, reason from fetch_errors")}
    assert reasons[web.url(SOFT_404)].startswith("soft 404")
    assert reasons[web.url(SPREADSHEET_LINK)].startswith("not an article")
    # a meta refresh to javascript: is ignored and the page kept
    assert web.url(META_JS) in urls


def test_javascript_and_mailto_never_requested(unseen):
    assert not [p for _, p in unseen["web"].hits if "javascript" in p.lower() or "mailto" in p.lower()]


def test_second_run_over_unchanged_site_fetches_no_article_and_exits_0(unseen):
    second = unseen["second"]
    assert second.returncode == 0, second.stdout + second.stderr[-2000:]
    web = unseen["web"]
    expected_paths = {u.removeprefix(web.url("")) for u in web.expected_articles()}
    refetched = [p for _, p in unseen["second_hits"]
                 if p in expected_paths or p in (SOFT_404, SPREADSHEET_LINK, DEAD_LINK)]
    assert refetched == []
    assert not [m for m, _ in unseen["second_hits"] if m == "POST"]  # nothing new on the column page
    [run] = rows(unseen["db"], "select * from crawl_runs where id = 2")
    assert (run["articles_new"], run["new_failures"], run["exit_status"]) == (0, 0, 0)


def test_backlog_walked_then_incremental(unseen):
    walked = {r["source_id"] for r in rows(unseen["db"], "select source_id from crawl_backlog where walked_at > ''")}
    assert walked >= {f"col-{c.kind}" for c in COLUMNS}
    left = rows(unseen["db"], "select url, state from crawl_frontier where state = 'pending'")
    assert left == []


def test_known_dead_links_retried_on_backoff_without_failing_the_run(unseen):
    web, db = unseen["web"], unseen["db"]
    assert ("GET", DEAD_LINK) in unseen["third_hits"]  # due again: looked at
    assert unseen["third"].returncode == 0, unseen["third"].stdout
    runs = rows(db, "select id, new_failures, known_dead_failures, refused, no_article, errors from crawl_runs"
                    " order by id")
    assert [r["new_failures"] for r in runs] == [1, 0, 0]  # the 404, once
    assert [r["known_dead_failures"] for r in runs] == [0, 0, 1]
    [dead] = rows(db, "select state, attempts from crawl_frontier where url = ?", [web.url(DEAD_LINK)])
    assert dead == {"state": "failed", "attempts": 2}
    assert ("GET", ROBOTS_REFUSED) not in web.hits


def test_run_counts_agree_with_fetch_errors(unseen):
    db = unseen["db"]
    for run in rows(db, "select * from crawl_runs"):
        by_category = {r["category"]: r["n"] for r in rows(
            db, "select category, count(*) n from fetch_errors where run_id = ? group by category", [run["id"]])}
        assert run["new_failures"] == run["errors"] == by_category.get("new", 0)
        assert run["known_dead_failures"] == by_category.get("known_dead", 0)
        assert run["refused"] == by_category.get("refused", 0)
        assert run["no_article"] == by_category.get("no_article", 0)
    [first] = rows(db, "select refused from crawl_runs where id = 1")
    assert first["refused"] == 1  # the robots.txt refusal: counted, separately from failures


def test_multi_page_article_is_one_article_with_every_page_a_capture(unseen):
    web, db = unseen["web"], unseen["db"]
    [article] = rows(db, "select text, capture_id from articles where url = ?", [web.url(MULTIPAGE)])
    positions = [article["text"].find(part) for part in MULTIPAGE_PARTS]
    assert -1 not in positions and positions == sorted(positions), article["text"]
    parts = rows(db, "select url, part_no from captures where part_of = ? order by part_no", [article["capture_id"]])
    stem = web.url(MULTIPAGE).removesuffix(".html")
    assert parts == [{"url": f"{stem}_1.html", "part_no": 1}, {"url": f"{stem}_2.html", "part_no": 2}]
    archived = set(archived_urls(unseen))
    assert not {p["url"] for p in parts} & archived  # the later pages are not articles of their own


def test_attachments_archived_listed_and_searchable(unseen):
    web, db = unseen["web"], unseen["db"]
    found = rows(db, "select * from attachments order by url")
    assert {r["url"] for r in found} == {web.url(p) for p in ATTACHMENTS}
    for row in found:
        assert row["article_url"] == web.url(WITH_ATTACHMENTS)
        [capture] = rows(db, "select sha256, body_size from captures where id = ?", [row["capture_id"]])
        assert (capture["sha256"], capture["body_size"]) == (row["sha256"], row["size"])
        assert row["link_text"].startswith(ATTACHMENTS[row["url"].removeprefix(web.url(""))])
    texts = {r["kind"]: r["text"] for r in found}
    assert "Project plan 2024" in texts["pdf"] and "通知全文" in texts["docx"] and "道路改造工程" in texts["sheet"]
    assert "说明.txt" in texts["zip"]
    hits = rows(db, "select a.url from attachments a join attachments_search f on f.rowid = a.id"
                    " where attachments_search match ?", [search_index.match_expression("道路改造")])
    assert hits == [{"url": web.url("/files/budget.xlsx")}]
    # attachments are never articles, and a second run does not fetch them again
    assert not {r["url"] for r in found} & set(archived_urls(unseen))
    assert not [p for _, p in unseen["second_hits"] if p.startswith("/files/")]


def test_article_page_lists_its_attachments(unseen):
    from pipelines.publish.serve import datasette_process

    [article] = rows(unseen["db"], "select id from articles where url = ?", [unseen["web"].url(WITH_ATTACHMENTS)])
    with datasette_process(unseen["db"]) as base:
        html = urllib.request.urlopen(f"{base}/archive/articles/{article['id']}", timeout=30).read().decode()
        found = {}
        # 2-character queries too (the text of a spreadsheet, the link text of a PDF), and a 1-character one
        for query in ("道路改造", "道路", "计划", "算"):
            found[query] = [f["url"] for f in json.loads(urllib.request.urlopen(
                f"{base}/archive/attachments.json?_search={urllib.parse.quote(query)}&_shape=array",
                timeout=30).read())]
    web = unseen["web"]
    assert found == {"道路改造": [web.url("/files/budget.xlsx")], "道路": [web.url("/files/budget.xlsx")],
                     "计划": [web.url("/files/plan.pdf")], "算": [web.url("/files/budget.xlsx")]}
    assert 'id="article-attachments"' in html
    for name in ATTACHMENTS.values():
        assert name in html


def test_sitemaps_found_through_robots_index_gzip_and_lastmod(unseen):
    web = unseen["web"]
    first_gets = [p for m, p in unseen["web"].hits if m == "GET"]
    assert "/sm/a.xml.gz" in first_gets and "/sitemap_index.xml" in first_gets
    # unchanged <lastmod>: the second run read the index but neither sitemap
    second = [p for _, p in unseen["second_hits"]]
    assert "/sitemap_index.xml" in second and "/sm/a.xml.gz" not in second and "/sm/b.xml" not in second
    # the third run: only the sitemap whose <lastmod> changed, and its new article
    third = [p for _, p in unseen["third_hits"]]
    assert "/sm/b.xml" in third and "/sm/a.xml.gz" not in third
    assert web.url(sitemap_article(9)) in set(archived_urls(unseen))
