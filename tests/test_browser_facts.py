"""Headless Chromium against a real `datasette serve` of the facts archive (tests/fixture_facts.py):
the facts facets, the investment chart and an article page with its facts highlighted in the text.
Screenshots are kept in test-artifacts/ (facts-facets.png, facts-chart.png, facts-article.png)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fixture_facts import ARTICLES, build_facts_archive
from support import served
from test_browser import ARTIFACTS, driver, pytestmark  # noqa: F401 - the shared Chromium fixture and marks


@pytest.fixture(scope="module")
def facts_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, int]]]:
    archive, ids = build_facts_archive(tmp_path_factory.mktemp("browser-facts"))
    with served(archive, tmp_path_factory.mktemp("log")) as base:
        yield base, ids


def test_facts_facets_chart_and_highlighted_article(facts_server: tuple[str, dict[str, int]],
                                                   driver: object) -> None:  # noqa: F811
    from selenium.webdriver.common.by import By

    base, ids = facts_server
    ARTIFACTS.mkdir(exist_ok=True)

    driver.get(f"{base}/archive/facts?kind=investment")
    facets = {f.get_attribute("data-column") for f in driver.find_elements(By.CSS_SELECTOR, ".facet-info")}
    assert {"kind", "place", "place_level", "month"} <= facets
    place_facet = driver.find_element(By.CSS_SELECTOR, '.facet-info[data-column="place"]').text
    assert "姜堰区" in place_facet and "海陵区" in place_facet
    driver.execute_script("document.querySelector('.facet-info').scrollIntoView({block: 'start'})")
    driver.save_screenshot(str(ARTIFACTS / "facts-facets.png"))

    driver.get(f"{base}/-/govbrief/facts-chart?place=姜堰")
    bars = driver.find_elements(By.CSS_SELECTOR, "#investment-chart rect.bar")
    assert len(bars) == 2
    heights = [float(b.get_attribute("height")) for b in bars]
    assert heights[0] > heights[1] > 0  # January (166亿, the repost counted once) above February (60亿)
    assert bars[0].size["height"] > 100  # really drawn by the browser, not just in the markup
    driver.save_screenshot(str(ARTIFACTS / "facts-chart.png"))
    bars[0].find_element(By.XPATH, "..").click()  # a bar links to the facts of its month
    assert "month=2025-01" in driver.current_url
    assert len(driver.find_elements(By.CSS_SELECTOR, "table.rows-and-columns tbody tr")) == 4  # 2 + 2 repost

    driver.get(f"{base}/archive/articles/{ids['first']}")
    marks = driver.find_elements(By.CSS_SELECTOR, "#article-text mark.govbrief-fact")
    marked = {m.text: m.get_attribute("class") for m in marks}
    assert "fact-investment" in marked["总投资126亿元"] and "fact-official" in marked["区委副书记、区长许志恒"]
    assert "fact-place" in marked["姜堰区"] and "fact-event_date" in marked["1月6日"]
    assert "fact-growth" in marked["同比增长18.2%"]
    # the text around the marks is unchanged
    paragraphs = [p.text for p in driver.find_elements(By.CSS_SELECTOR, "#article-text p")]
    assert paragraphs[1] == "".join(ARTICLES[0][3][1])
    link = marks[0].find_element(By.TAG_NAME, "a").get_attribute("href")
    assert "/archive/facts/" in link
    driver.execute_script("document.getElementById('article-text').scrollIntoView()")
    driver.save_screenshot(str(ARTIFACTS / "facts-article.png"))
    driver.get(link)
    assert "/archive/facts/" in driver.current_url and "新闻要素" in driver.title
