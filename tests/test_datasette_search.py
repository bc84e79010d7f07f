"""The archive in Datasette (pipelines.publish.serve.make_datasette + the govbrief plugin), through
Datasette's own test client: search box, JSON API, facets, canned queries, article page, feed,
and that archived markup never runs."""

from __future__ import annotations

import asyncio
import io
import json
import sqlite3
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from conftest_search import XSS_TITLE, build_archive
from warcio.archiveiterator import ArchiveIterator

from pipelines.publish.serve import SETTINGS, load_metadata, make_datasette
from pipelines.search import search_index
from pipelines.search.search_index import fold


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_archive(tmp_path_factory.mktemp("ds"))


@pytest.fixture(scope="module")
def ds(archive: Path) -> Any:
    return make_datasette(str(archive))


@pytest.fixture(scope="module")
def trusted(archive: Path) -> Any:
    """`govbrief serve --allow-sql`: custom SQL, under the same limits."""
    return make_datasette(str(archive), allow_sql=True)


def get(ds: Any, path: str) -> Any:
    async def go() -> Any:
        return await ds.client.get(path)

    return asyncio.run(go())


@pytest.fixture(scope="module")
def articles(archive: Path) -> dict[int, dict]:
    conn = sqlite3.connect(archive)
    conn.row_factory = sqlite3.Row
    return {r["id"]: dict(r) for r in conn.execute("select * from articles")}


def contains(articles: dict[int, dict], q: str) -> set[int]:
    """The reference answer: a substring scan over the folded title and text."""
    terms = [fold(t) for t in q.split()]
    return {i for i, a in articles.items()
            if all(t in fold(a["title"]) or t in fold(a["text"]) for t in terms)}


def json_all_pages(ds: Any, path: str) -> list[dict]:
    """Follow the JSON API's paging (?_next=) to the end."""
    rows: list[dict] = []
    url: str | None = path
    while url:
        data = get(ds, url).json()
        rows += data["rows"]
        url = data["next_url"].replace("http://localhost", "") if data.get("next_url") else None
    return rows


@pytest.mark.parametrize("q", ["项目", "農業", "泰州 招商", "经济发展", "项", "建设项目", "gdp"])
def test_json_api_returns_exactly_the_matching_articles(ds: Any, articles: dict, q: str) -> None:
    rows = json_all_pages(ds, f"/archive/articles.json?_search={q}&_size=7&_col=title&_shape=objects")
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids))  # paging neither repeats nor skips
    assert set(ids) == contains(articles, q)
    shaped = get(ds, f"/archive/articles.json?_search={q}&_shape=array&_size=max&_col=title").json()
    assert {r["id"] for r in shaped} == set(ids)


def test_search_results_are_newest_first(ds: Any) -> None:
    rows = get(ds, "/archive/articles.json?_search=项目&_shape=array&_size=max&_col=published").json()
    dates = [r["published"] for r in rows]
    assert dates == sorted(dates, reverse=True)


def test_facets_and_filters_work_with_search(ds: Any, articles: dict) -> None:
    hits = contains(articles, "项目")
    data = get(ds, "/archive/articles.json?_search=项目&_facet=region&_facet=published_year"
                   "&_facet=script&_facet=source_id&_facet=published_month").json()
    assert data["filtered_table_rows_count"] == len(hits)
    for column in ("region", "published_year", "script", "source_id", "published_month"):
        facet = {r["value"]: r["count"] for r in data["facet_results"][column]["results"]}
        assert facet == dict(Counter(articles[i][column] for i in hits)), column
    # a facet selection is a filter combined with the search
    rows = json_all_pages(
        ds, "/archive/articles.json?_search=项目&region=泰州&published_year=2024&_col=title&_shape=objects")
    assert {r["id"] for r in rows} == {
        i for i in hits if articles[i]["region"] == "泰州" and articles[i]["published_year"] == 2024}


def test_default_facets_from_metadata(ds: Any) -> None:
    data = get(ds, "/archive/articles.json?_search=泰州").json()
    assert set(data["facet_results"]) >= {"source_id", "region", "published_year", "published_month", "script"}


def test_search_page_has_box_and_highlighted_hits(ds: Any) -> None:
    html = get(ds, "/archive/articles?_search=农业").text
    assert 'name="_search" value="农业"' in html
    assert "<mark>農業</mark>" in html and "<mark>农业</mark>" in html
    assert 'class="govbrief-title" href="/archive/articles/' in html
    assert "包含“农业”" in html  # the count line names the search
    # the unfiltered page has the search box as well, and no stale highlighting
    plain = get(ds, "/archive/articles").text
    assert 'name="_search"' in plain and "<mark>" not in plain


def test_empty_and_punctuation_only_searches(ds: Any, articles: dict) -> None:
    everything = get(ds, "/archive/articles.json?_search=").json()
    assert everything["filtered_table_rows_count"] == len(articles)
    nothing = get(ds, "/archive/articles.json?_search=，。").json()
    assert nothing["filtered_table_rows_count"] == 0


def test_ranked_canned_query_with_snippets(ds: Any, articles: dict) -> None:
    rows = get(ds, "/archive/search.json?q=招商&_shape=array").json()
    assert {r["article_id"] for r in rows} == contains(articles, "招商")
    in_title = ["招商" in r["title"] for r in rows]
    assert in_title == sorted(in_title, reverse=True)  # title hits rank first
    assert all("<mark>" in r["snippet"] or "招商" in r["title"] for r in rows)
    newest = get(ds, "/archive/search.json?q=招商&sort=newest&_shape=array").json()
    assert [r["published"] for r in newest] == sorted((r["published"] for r in rows), reverse=True)
    page2 = get(ds, "/archive/search.json?q=项&offset=50&_shape=array").json()
    page1 = get(ds, "/archive/search.json?q=项&_shape=array").json()
    assert len(page1) == 50 and not {r["article_id"] for r in page1} & {r["article_id"] for r in page2}
    assert get(ds, "/archive/search.json?q=&_shape=array").json() == []
    html = get(ds, "/archive/search?q=招商").text
    assert "<mark>招商</mark>" in html


def test_atom_feed_of_a_search(ds: Any, articles: dict) -> None:
    response = get(ds, "/archive/search_feed.atom?q=農業")
    assert response.status_code == 200
    feed = ET.fromstring(response.content)
    ns = {"a": "http://www.w3.org/2005/Atom"}
    entries = feed.findall("a:entry", ns)
    assert {e.find("a:id", ns).text for e in entries} == {articles[i]["url"] for i in contains(articles, "农业")}
    assert any("【農業】" in (e.find("a:content", ns).text or "") for e in entries)


def test_crawl_health_and_newest_by_region(ds: Any) -> None:
    health = {r["source_id"]: r for r in get(ds, "/archive/crawl_health.json?_shape=array").json()}
    tz = health["taizhou-gov"]
    assert tz["last_success"] and tz["runs"] == 1 and tz["errors_last_run"] == 1 and tz["errors_total"] == 1
    assert tz["known_dead_last_run"] == 1  # the known-dead retry is shown, not counted as an error
    assert tz["articles"] == 5 and tz["newest_published"] == "2024-07-01"
    newest = get(ds, "/archive/newest_by_region.json?_shape=array").json()
    per_region = Counter(r["region"] for r in newest)
    assert per_region and max(per_region.values()) <= 5
    tz_rows = [r for r in newest if r["region"] == "泰州"]
    assert [r["published"] for r in tz_rows] == sorted((r["published"] for r in tz_rows), reverse=True)


def test_article_page(ds: Any, archive: Path, articles: dict) -> None:
    a = articles[1]
    html = get(ds, "/archive/articles/1").text
    assert f'<h1 id="article-title">{a["title"]}</h1>' in html
    for para in a["text"].split("\n"):
        assert f"<p>{para}</p>" in html
    assert f'href="{a["url"]}"' in html
    assert a["published"] in html and a["first_fetched"] in html
    # public default: the capture record (status, headers, sha256), never its raw body
    assert 'href="/-/govbrief/capture/archive/1"' not in html and 'href="/archive/captures/1"' in html
    assert get(ds, "/-/govbrief/capture/archive/1").status_code == 403
    assert get(ds, "/-/govbrief/warc/archive/1.warc.gz").status_code == 403
    assert get(ds, "/archive/captures/1.json?_shape=array").json()[0]["body"] is None
    ds = make_datasette(archive, show_captures=True)  # the operator publishes raw captures
    assert 'href="/-/govbrief/capture/archive/1"' in get(ds, "/archive/articles/1").text
    capture = get(ds, "/-/govbrief/capture/archive/1")
    assert capture.headers["content-type"].startswith("text/plain")
    assert capture.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in capture.headers["content-security-policy"]
    assert "泰州市举行重大项目集中开工仪式" in capture.text
    assert get(ds, "/-/govbrief/capture/archive/999").status_code == 404
    assert 'href="/-/govbrief/warc/archive/1.warc.gz"' not in html  # public: no raw captures, also as WARC
    assert 'href="/-/govbrief/warc/archive/1.warc.gz"' in get(ds, "/archive/articles/1").text
    warc = get(ds, "/-/govbrief/warc/archive/1.warc.gz")
    assert warc.headers["content-type"] == "application/warc"
    records = list(ArchiveIterator(io.BytesIO(warc.content)))
    assert [r.rec_type for r in records] == ["warcinfo", "response", "request", "metadata"]
    assert records[1].rec_headers.get_header("WARC-Target-URI") == "https://gov.example.cn/taizhou-gov/0.html"
    assert get(ds, "/-/govbrief/warc/archive/999.warc.gz").status_code == 404


XSS_RAW = ["<script>alert(1)</script>", "<script>document.title", "<img src=x onerror"]


def xss_id(articles: dict) -> int:
    return next(i for i, a in articles.items() if a["title"] == XSS_TITLE)


@pytest.mark.parametrize("path", [
    "/archive/articles", "/archive/articles?_search=泰州", "/archive/articles?_search=script",
    "/archive/articles/{id}", "/archive/search?q=泰州", "/archive/search?q=pwned",
    "/archive/articles?_search=项目&_facet=title",
])
def test_archived_markup_is_inert(ds: Any, articles: dict, path: str) -> None:
    response = get(ds, path.format(id=xss_id(articles)))
    assert response.status_code == 200
    assert "&lt;script&gt;" in response.text or "&lt;<mark>script</mark>&gt;" in response.text
    for raw in XSS_RAW:
        assert raw not in response.text, (path, raw)


def test_feed_and_json_escape_markup(ds: Any) -> None:
    feed = get(ds, "/archive/search_feed.atom?q=泰州").text
    assert "<script>" not in feed and "&lt;script&gt;" in feed
    response = get(ds, "/archive/articles.json?_search=泰州")
    assert response.headers["content-type"].startswith("application/json")


def test_markup_from_custom_sql_cannot_pass_as_a_snippet(trusted: Any) -> None:
    sql = "select '<script>alert(1)</script><mark>ok</mark>' as snippet"
    html = get(trusted, f"/archive?sql={sql}").text
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;<mark>ok</mark>" in html


def test_read_only_time_limited_and_no_download(ds: Any, trusted: Any, articles: dict) -> None:
    settings = get(ds, "/-/settings.json").json()
    assert settings["sql_time_limit_ms"] == SETTINGS["sql_time_limit_ms"] == 1000
    assert settings["allow_download"] is False
    assert get(ds, "/archive.json?sql=select 1").status_code == 403  # public: no custom SQL at all
    response = get(trusted, "/archive.json?sql=delete from articles")
    assert response.status_code == 400
    slow = ("with recursive c(x) as (select 1 union all select x + 1 from c) "
            "select count(*) from c")
    assert "interrupted" in get(trusted, f"/archive.json?sql={quote(slow)}").text.lower()
    assert get(ds, "/archive.db").status_code in (403, 404)
    assert len(get(ds, "/archive/articles.json?_shape=array&_size=max&_col=id").json()) == len(articles)


def test_metadata_describes_columns_and_hides_index_tables(ds: Any) -> None:
    html = get(ds, "/archive").text
    shown = html.split("hidden tables")[0]
    for hidden in (search_index.FTS_TABLE, search_index.PENDING_TABLE, search_index.INFO_TABLE):
        assert f'href="/archive/{hidden}"' not in shown
    data = get(ds, "/-/metadata.json").json()
    columns = data["databases"]["archive"]["tables"]["articles"]["columns"]
    assert {"title", "text", "published", "first_fetched", "capture_id", "script"} <= set(columns)
    assert data["license"] and data["source"]


def test_other_database_names(tmp_path: Path, archive: Path) -> None:
    other = tmp_path / "news.db"
    other.write_bytes(archive.read_bytes())
    assert "news" in load_metadata(other)["databases"]
    news = make_datasette(str(other))
    rows = get(news, "/news/search.json?q=农业&_shape=array").json()
    assert rows and all("article_id" in r for r in rows)
    assert json.loads(get(news, "/news/articles.json?_search=农业&_shape=array&_col=id").text)


@pytest.mark.parametrize("path", [
    "/archive/articles.json?_size=7&_col=published&_shape=objects",
    "/archive/articles.json?_search=项&_size=7&_col=published&_shape=objects",
    "/archive/articles.json?_search=项&_size=7&_col=published&_shape=objects&_sort_desc=published",
    "/archive/articles.json?_search=项目&_size=3&_col=published&_shape=objects&_sort=id",
])
def test_paging_newest_first_with_equal_dates(ds: Any, articles: dict, path: str) -> None:
    """Many articles share a date; every page boundary inside a date must lose nothing."""
    assert len({a["published"] for a in articles.values()}) < len(articles)  # there are ties
    rows = json_all_pages(ds, path)
    ids = [r["id"] for r in rows]
    q = path.split("_search=")[1].split("&")[0] if "_search=" in path else None
    assert len(ids) == len(set(ids))
    assert set(ids) == (contains(articles, q) if q else set(articles))


@pytest.fixture(scope="module")
def ds_low_threshold(archive: Path) -> Any:
    """The same archive with every query of 5+ hits treated as frequent, so the fixture exercises
    all three query plans of the plugin (see datasette_plugin._where_clause), and the search query
    ranking at most 5 hits."""
    from datasette.app import Datasette

    metadata = load_metadata(archive)
    metadata["plugins"] = {"govbrief": {"frequent_hits": 5, "rank_limit": 5}}
    return Datasette([str(archive)], metadata=metadata, settings=dict(SETTINGS))


@pytest.mark.parametrize("q", ["项目", "项", "泰州 招商", "建设项目", "农业", "铁路"])
@pytest.mark.parametrize("params", [
    "_shape=array",  # exists (...) when frequent
    "_shape=objects",  # +id in (...) when frequent
    "_shape=array&_sort=id",
    "_shape=objects&_sort=title",  # id in (...) unless frequent
    "_shape=array&region=泰州",
])
def test_every_query_plan_returns_the_same_rows(ds: Any, ds_low_threshold: Any, articles: dict, q: str,
                                                params: str) -> None:
    expected = contains(articles, q)
    if "region=" in params:
        expected = {i for i in expected if articles[i]["region"] == "泰州"}
    for instance in (ds, ds_low_threshold):
        rows = get(instance, f"/archive/articles.json?_search={q}&{params}&_size=max&_col=title").json()
        if isinstance(rows, dict):
            rows = rows["rows"]
        assert {r["id"] for r in rows} == expected
    # and paging through the frequent-query plans loses nothing
    paged = json_all_pages(ds_low_threshold, f"/archive/articles.json?_search={q}&_size=4&_col=title&_shape=objects")
    assert {r["id"] for r in paged} == contains(articles, q)


def test_where_clause_forms(ds_low_threshold: Any) -> None:
    def sql(path: str) -> str:
        return get(ds_low_threshold, path).json()["query"]["sql"]

    # _shape=array hides the SQL, so look at the objects shape and the nocount variant
    assert "+id in (select rowid" in sql("/archive/articles.json?_search=项目&_shape=objects")
    assert "exists (select 1" in sql("/archive/articles.json?_search=项目&_nocount=1&_nofacet=1")
    assert "+id in (select rowid" in sql("/archive/articles.json?_search=项目&_nocount=1")  # facets run
    assert "where id in (select rowid" in sql("/archive/articles.json?_search=铁路建设&_sort=title")


def test_ranking_falls_back_to_newest_above_the_rank_limit(ds: Any, ds_low_threshold: Any, articles: dict) -> None:
    few = next(q for q in ("南京", "机场", "农业") if 1 <= len(contains(articles, q)) <= 5)
    for instance in (ds, ds_low_threshold):  # at or below the limit: ranked in both
        rows = get(instance, f"/archive/search.json?q={few}&_shape=array").json()
        assert {r["ordered_by"] for r in rows} == {"relevance"}
        assert {r["article_id"] for r in rows} == contains(articles, few)
    ranked = get(ds, "/archive/search.json?q=招商&_shape=array").json()
    assert {r["ordered_by"] for r in ranked} == {"relevance"}
    capped = get(ds_low_threshold, "/archive/search.json?q=招商&_shape=array").json()
    assert {r["ordered_by"] for r in capped} == {"newest (too many hits to rank)"}
    assert {r["article_id"] for r in capped} == {r["article_id"] for r in ranked} == contains(articles, "招商")
    newest = get(ds, "/archive/search.json?q=招商&sort=newest&_shape=array").json()
    assert [r["article_id"] for r in capped] == [r["article_id"] for r in newest]
    assert {r["ordered_by"] for r in newest} == {"newest"}
