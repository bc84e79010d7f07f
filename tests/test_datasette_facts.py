"""Facts in Datasette: facets, canned queries that count a reposted announcement once, the chart page
and the article page's facts. The archive (tests/fixture_facts.py) is built through the real pipeline
functions in a real SQLite file and read through Datasette's own client."""

from __future__ import annotations

import html
from typing import Any

import pytest
from fixture_facts import build_facts_archive
from test_datasette_provenance import get  # Datasette's client, asserting 200

from pipelines.publish.serve import make_datasette


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    path, ids = build_facts_archive(tmp_path_factory.mktemp("facts"))
    return {"path": path, "ids": ids, "ds": make_datasette(str(path))}


def test_facts_table_facets_by_kind_place_level_and_month(archive):
    data = get(archive["ds"], "/archive/facts.json?_extra=facet_results").json()
    facets = data["facet_results"]
    assert set(facets) >= {"kind", "place", "place_level", "month"}
    kinds = {v["value"]: v["count"] for v in facets["kind"]["results"]}
    assert kinds["investment"] == 7 and kinds["official"] >= 4  # 5 in the three articles + 2 in the repost
    assert {v["value"] for v in facets["place"]["results"]} == {"姜堰区", "海陵区"}
    assert {v["value"] for v in facets["month"]["results"]} == {"2025-01", "2025-02", "2025-03"}
    rows = get(archive["ds"], "/archive/facts.json?_shape=objects&kind=investment&place=海陵区").json()["rows"]
    assert [(r["text"], r["amount_cny"], r["admin_code"] or r["place_code"]) for r in rows] == [
        ("总投资22亿元", 2_200_000_000, "321202")]


def test_canned_queries_sum_each_repost_cluster_once(archive):
    ds = archive["ds"]
    rows = get(ds, "/archive/investment_by_place_month.json?_shape=objects&place=&year=").json()["rows"]
    totals = {(r["place"], r["month"]): r["total_cny"] for r in rows}
    # January: 126亿 + 40亿 stated by the government article and again by its repost, counted once
    assert totals == {("姜堰区", "2025-01"): 16_600_000_000, ("姜堰区", "2025-02"): 6_000_000_000,
                      ("海陵区", "2025-03"): 2_200_000_000}
    largest = get(ds, "/archive/largest_investments.json?_shape=objects&place=姜堰&year=2025").json()["rows"]
    assert [r["amount_cny"] for r in largest] == [12_600_000_000, 6_000_000_000, 4_000_000_000]
    assert largest[0]["copies"] == 2
    officials = get(ds, "/archive/officials_by_appearances.json?_shape=objects&place=").json()["rows"]
    top = officials[0]
    assert (top["name"], top["appearances"]) == ("方明远", 2)  # two announcements, the repost not counted


def test_chart_page_draws_a_bar_per_month_for_a_place_or_search(archive):
    page = get(archive["ds"], "/-/govbrief/facts-chart?place=姜堰").text
    assert page.count('class="bar"') == 2 and "2025-01" in page and "2025-02" in page and "2025-03" not in page
    assert "166.0 亿元" in page  # the January bar's tooltip: 126 + 40, once
    searched = get(archive["ds"], "/-/govbrief/facts-chart?q=" + "智能制造").text
    assert searched.count('class="bar"') == 1 and "2025-03" in searched
    assert "<script" not in page.split("<body")[1].split("</svg>")[0]  # the chart itself needs no script
    empty = get(archive["ds"], "/-/govbrief/facts-chart?place=不存在").text
    assert 'id="chart-empty"' in empty


def test_article_page_lists_and_links_its_facts(archive):
    article_id = archive["ids"]["first"]
    page = get(archive["ds"], f"/archive/articles/{article_id}").text
    assert 'id="article-facts"' in page and 'id="facts-list"' in page
    facts = get(archive["ds"], f"/archive/facts.json?_shape=objects&article_id={article_id}").json()["rows"]
    for fact in facts:
        assert f'href="/archive/facts/{fact["id"]}"' in page
    assert html.escape("区委副书记、区长许志恒") in page or "区委副书记、区长许志恒" in page
    # the positions the highlighting script needs: paragraph and offset of each fact
    assert '"para": 1' in page and '"para_start"' in page
