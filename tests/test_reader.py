"""The reader's search (pipelines/search/finder.py) and its pages (datasette_plugin/reader.py): place at
any administrative level, dates, source types, one row per repost cluster, exports equal to the list,
the Atom title naming the search, the Chinese interface with English on request. Real SQLite archive
built by the pipeline; the pages through a real in-process Datasette."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
import sqlite3
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils
from fixture_reader import XSS_TITLE, build_reader_archive

from crawler.sources import SourcesError, parse_sources
from pipelines.places.regions import resolve_region
from pipelines.publish.serve import make_datasette
from pipelines.search import finder, search_index
from pipelines.store import migrations
from pipelines.urls import infer_source_type

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    return build_reader_archive(tmp_path_factory.mktemp("reader"))


@pytest.fixture(scope="module")
def conn(archive: tuple[Path, dict[str, int]]) -> Any:
    connection = sqlite3.connect(f"file:{archive[0]}?mode=ro", uri=True)
    search_index.register_functions(connection)
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def ds(archive: tuple[Path, dict[str, int]]) -> Any:
    return make_datasette(str(archive[0]))


def get(ds: Any, path: str, **kwargs: Any) -> Any:
    return asyncio.run(ds.client.get(path, **kwargs))


def find(conn: Any, **args: str) -> finder.SearchResult:
    return finder.search(conn, finder.SearchQuery.from_args(args))


def titles(result: finder.SearchResult) -> set[str]:
    return {r["title"] for r in result.rows}


# ------------------------------------------------------------------ places and source types


def test_region_levels_with_codes() -> None:
    place = resolve_region("江苏省泰州市泰兴市")
    assert (place.province, place.city, place.county) == ("江苏省", "泰州市", "泰兴市")
    assert (place.province_code, place.city_code, place.county_code) == ("320000", "321200", "321283")
    assert resolve_region("泰州").code == "321200"  # abbreviated names resolve too
    assert resolve_region("武进区").city == "常州市"
    assert resolve_region("全国").code is None and resolve_region("").code is None
    assert resolve_region("北京市海淀区").city is None  # no "市辖区" pseudo-city


def test_source_type_default_and_registry_check() -> None:
    assert infer_source_type(["https://www.taizhou.gov.cn/xwzx/"]) == "gov"
    assert infer_source_type(["https://www.sohu.com/a/1"]) == "repost"
    assert infer_source_type(["https://news.example.com/"]) == "media"
    entry = {"id": "x", "name": "X", "region": "泰州", "start_urls": ["https://x.example.com/"]}
    assert parse_sources({"sources": [{**entry, "source_type": "repost"}]})[0].source_type == "repost"
    with pytest.raises(SourcesError, match="source_type: 'blog' is not one of"):
        parse_sources({"sources": [{**entry, "source_type": "blog"}]})


def test_migration_50_fills_levels_of_an_older_archive(tmp_path: Path) -> None:
    db = sqlite_utils.Database(tmp_path / "old.db")
    with db.conn:
        migrations.MIGRATIONS[0].apply(db)  # an archive as govbrief 0.1 left it
        db.execute("PRAGMA user_version = 1")
    db["sources"].insert({"id": "tx", "name": "泰兴市人民政府", "region": "江苏省泰州市泰兴市",
                          "start_urls": json.dumps(["http://www.taixing.gov.cn/"]), "config": "{}"})
    assert 50 in migrations.migrate(db)
    row = db["sources"].get("tx")
    assert (row["city"], row["city_code"], row["county_code"], row["source_type"]) == (
        "泰州市", "321200", "321283", "gov")
    assert migrations.migrate(db) == []  # idempotent


# ------------------------------------------------------------------ the search


def test_place_matches_any_level(conn: Any) -> None:
    taizhou = find(conn, place="泰州")
    assert {r["source_id"] for r in taizhou.rows} == {"taixing-gov", "taizhou-gov", "tz-daily"}
    assert taizhou.place_name == "泰州市"
    assert find(conn, place="321200").total == taizhou.total  # the code, as the form sends it
    assert {r["source_id"] for r in find(conn, place="泰兴市").rows} == {"taixing-gov"}
    assert {r["source_id"] for r in find(conn, place="江苏").rows} == {
        "taixing-gov", "taizhou-gov", "tz-daily", "wujin-gov"}
    assert find(conn, place="火星").total == 0


def test_query_date_range_and_type(conn: Any) -> None:
    result = find(conn, q="项目", place="泰州", **{"from": "2023-02", "to": "2023-03"})
    assert all("2023-02-01" <= r["published"] <= "2023-03-31" for r in result.rows)
    assert titles(result) == {"泰兴经济开发区新能源电池材料项目开工", "泰兴市举办现代农业招商推介会",
                              "泰州市一季度重大项目集中开工", "泰州港口物流项目加快建设", XSS_TITLE}
    assert {r["source_type"] for r in find(conn, type="media").rows} == {"media"}
    # Traditional and Simplified find each other, as in the table search
    assert "武進區舉行重大項目集中簽約儀式" in titles(find(conn, q="签约"))
    assert titles(find(conn, q="簽約", place="武进")) == {"武進區舉行重大項目集中簽約儀式"}


def test_facets_count_the_same_articles(conn: Any) -> None:
    result = find(conn, q="项目")
    assert result.total == sum(f["count"] for f in result.facets["source"])
    assert result.total == sum(f["count"] for f in result.facets["type"])
    months = [f["value"] for f in result.facets["date"]]
    assert months == sorted(months, reverse=True)  # date order, not by count
    places = {f["label"]: f["count"] for f in result.facets["place"]}
    assert places["泰州市"] == places["泰兴市"] + sum(
        f["count"] for f in result.facets["source"] if f["value"] in ("taizhou-gov", "tz-daily"))


def test_one_row_per_repost_cluster(conn: Any, archive: tuple[Path, dict[str, int]]) -> None:
    grouped = find(conn, q="动员大会")
    every = find(conn, q="动员大会", copies="all")
    assert grouped.total == every.total == 2  # counts are of articles
    assert [r["source_id"] for r in grouped.rows] == ["taixing-gov"]  # the repost folds into its original
    assert [c["source_id"] for c in grouped.rows[0]["copies"]] == ["taixing-gov", "farm"]
    assert grouped.rows[0]["copies"][0]["is_canonical"]
    assert {r["source_id"] for r in every.rows} == {"taixing-gov", "farm"}
    # filtered to repost sites, the repost is the result (its original is not)
    assert [r["source_id"] for r in find(conn, q="动员大会", type="repost").rows] == ["farm"]


def test_sort_by_relevance_or_date(conn: Any) -> None:
    ranked = find(conn, q="农业")
    assert ranked.ordered_by == "relevance"
    assert ranked.rows[0]["title"] in ("泰州市召开农业农村工作会议", "泰兴市举办现代农业招商推介会")
    dated = find(conn, q="农业", sort="date")
    assert dated.ordered_by == "date"
    assert [r["published"] for r in dated.rows] == sorted((r["published"] for r in dated.rows), reverse=True)
    assert "<mark>农业</mark>" in dated.rows[0]["snippet_html"]
    capped = finder.search(conn, finder.SearchQuery(q="项目"), rank_limit=2)
    assert capped.ordered_by == "date (too many hits to rank)"


@pytest.mark.parametrize("args, message", [
    ({"from": "March"}, "from: expected a date"), ({"to": "2023-13"}, "to: no such date"),
    ({"type": "blog"}, "type: expected one of"), ({"sort": "random"}, "sort: expected relevance or date"),
])
def test_bad_filters_are_named(args: dict, message: str) -> None:
    with pytest.raises(finder.BadQuery, match=message):
        finder.SearchQuery.from_args(args)


# ------------------------------------------------------------------ the pages


def test_front_page_shows_the_archive_at_a_glance(ds: Any) -> None:
    page = get(ds, "/")
    assert page.status_code == 200
    html = page.text
    assert "<title>地方政府项目新闻档案</title>" in html and 'lang="zh-Hans"' in html
    assert 'id="gb-count">10<' in html and "2023-01-05 至 2023-04-03" in html
    health = html[html.index('id="gb-health"'):]
    assert "常州市武进区人民政府" in health and "上次抓取有错误" in health
    assert '<option value="321200"' in html and "　泰兴市" in html  # the place tree
    newest = html[html.index('id="gb-newest"'):html.index('id="gb-health"')]
    assert newest.index("泰州市召开农业农村工作会议") < newest.index("泰州项目&lt;script&gt;")


def test_result_page_and_exports_list_the_same_articles(ds: Any) -> None:
    args = "q=项目&place=泰州&from=2023-02&to=2023-03&sort=date"
    html = get(ds, f"/-/search?{args}").text
    assert "<title>检索结果：“项目” · 泰州市 · 2023-02 至 2023-03 – 地方政府项目新闻档案</title>" in html
    listed = [int(part.split('"')[0]) for part in html.split('class="gb-title" href="/archive/articles/')[1:]]
    assert len(listed) == 5
    rows = get(ds, f"/-/search.json?{args}").json()["rows"]
    assert [r["id"] for r in rows] == listed
    assert {r["publisher"] for r in rows} == {"泰兴市人民政府", "泰州市人民政府", "泰州日报"}
    response = get(ds, f"/-/search.csv?{args}")
    assert response.headers["content-type"].startswith("text/csv")
    assert response.text.startswith("\ufeff")  # Excel reads the Chinese as UTF-8
    exported = list(csv.DictReader(io.StringIO(response.text.lstrip("\ufeff"))))
    assert [int(r["id"]) for r in exported] == listed
    assert exported[0]["article_page"].endswith(f"/archive/articles/{listed[0]}")
    assert "&lt;script&gt;" in html and "<script>alert" not in html


def test_atom_feed_is_titled_with_the_search(ds: Any) -> None:
    feed = ET.fromstring(get(ds, "/-/search.atom?q=项目&place=泰兴&type=gov").content)
    assert feed.find(f"{ATOM}title").text == "政务项目新闻检索：“项目” · 泰兴市 · 政府网站"
    entries = feed.findall(f"{ATOM}entry")
    assert [e.find(f"{ATOM}updated").text[:10] for e in entries] == ["2023-03-16", "2023-02-08", "2023-01-14"]
    other = ET.fromstring(get(ds, "/-/search.atom?q=农业").content)
    assert other.find(f"{ATOM}title").text != feed.find(f"{ATOM}title").text


def test_english_on_request_and_remembered(ds: Any) -> None:
    page = get(ds, "/-/search?q=项目&_lang=en")
    assert "<title>Search results" in page.text and 'lang="en"' in page.text
    assert "govbrief_lang=en" in page.headers["set-cookie"]
    assert "Search results" in get(ds, "/-/search?q=项目", cookies={"govbrief_lang": "en"}).text
    assert "检索结果" in get(ds, "/-/search?q=项目").text


@pytest.mark.parametrize("path", [
    "/", "/-/search?q=项目", "/archive", "/archive/articles", "/archive/articles/1", "/archive/sources",
    "/archive/sources/taixing-gov", "/archive/captures/1", "/archive/crawl_runs", "/archive/fetch_errors",
    "/archive/clusters", "/archive/search?q=项目", "/archive/crawl_health", "/archive/nothing/1",
])
def test_every_page_title_is_chinese(ds: Any, path: str) -> None:
    title = re.search(r"<title>(.*?)</title>", get(ds, path).text, re.S).group(1)
    assert re.search(r"[\u4e00-\u9fff]", title) and "select" not in title.lower(), (path, title)


def test_error_pages_are_chinese(ds: Any) -> None:
    page = get(ds, "/archive/articles/999")
    assert page.status_code == 404 and "<title>找不到该页面（404） – 地方政府项目新闻档案</title>" in page.text


def test_bad_filter_is_a_400_with_the_reason(ds: Any) -> None:
    page = get(ds, "/-/search?q=项目&from=March")
    assert page.status_code == 400 and 'id="gb-error"' in page.text
    assert "无法识别“起始日期”的值“March”" in page.text
    assert "from: expected a date" in get(ds, "/-/search?from=March&_lang=en").text
    assert get(ds, "/-/search.json?from=March").status_code == 400


def test_reading_view_cites_the_article(ds: Any, archive: tuple[Path, dict[str, int]]) -> None:
    path, ids = archive
    article_id = ids["http://www.taixing.gov.cn/xwzx/202301/t20230114_1001.html"]
    html = get(ds, f"/archive/articles/{article_id}").text
    with sqlite3.connect(path) as db:
        sha = db.execute("select c.sha256 from articles a join captures c on c.id = a.capture_id "
                         "where a.id = ?", [article_id]).fetchone()[0]
    citation = html[html.index('id="citation"'):html.index("</textarea>")]
    assert ("泰兴市召开2023年重大项目建设动员大会 · 泰兴市人民政府 · 2023-01-14 · "
            "http://www.taixing.gov.cn/xwzx/202301/t20230114_1001.html · 存档于 2023-04-05 · "
            f"sha256:{sha}") in citation
    assert "<title>泰兴市召开2023年重大项目建设动员大会 – 地方政府项目新闻档案</title>" in html
    assert "江苏省泰州市泰兴市" in html and "政府网站" in html
    facts = html.find('id="article-facts"')  # the facts list quotes each fact as written
    outside_facts = html if facts < 0 else html[:facts] + html[html.index("</section>", facts):]
    assert outside_facts.count("全市共安排重大项目120个") == 1  # the text once, no raw record below it


def test_articles_table_shows_readable_columns(ds: Any) -> None:
    html = get(ds, "/archive/articles").text
    headers = html[html.index("<thead>"):html.index("</thead>")]
    assert [c for c in ("标题", "发布日期", "来源网站", "地区", "正文") if c in headers] == [
        "标题", "发布日期", "来源网站", "地区", "正文"]
    assert "text_simplified" not in headers and "title_simplified" not in headers
    assert ">泰兴市人民政府<" in html  # publisher names, not ids
    facet = html[html.index('id="facet-published_month"'):]
    months = [m for m in ("2023-04", "2023-03", "2023-02", "2023-01") if m in facet[:3000]]
    assert months == ["2023-04", "2023-03", "2023-02", "2023-01"]
    assert [facet.index(m) for m in months] == sorted(facet.index(m) for m in months)
    assert 'value="应用"' in html and "Apply" not in html and "Advanced export" not in html
    assert "<summary>表结构（SQL）</summary>" in html  # the schema only for whoever opens it
    # the visitor's own column choice still wins, and the JSON API is untouched
    assert "text_simplified" in get(ds, "/archive/articles?_col=text_simplified").text
    assert "text_simplified" in get(ds, "/archive/articles.json?_shape=array&_size=1").json()[0]


def test_pages_show_no_sql(ds: Any, archive: tuple[Path, dict[str, int]]) -> None:
    for path in ("/", "/-/search?q=项目&place=泰州", "/archive/articles?_search=项目", "/archive/search?q=农业",
                 f"/archive/articles/{next(iter(archive[1].values()))}"):
        html = re.sub(r"(?s)<(style|script)\b.*?</\1>", "", get(ds, path).text)
        text = re.sub(r"<[^>]+>", " ", html).lower()
        assert not re.search(r"\bselect\b.*\bfrom\b", text), path
