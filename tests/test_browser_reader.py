"""A Chinese reader's path in headless Chromium over a real `datasette serve`, at desktop (1280 px) and
phone (390 px) width: the front page, a search for a place and a date range, the JSON/CSV export of
the results, the reading view with its citation, and the Atom feed of the search.

On every page: a Chinese title, no horizontal scrolling, no SQL, no English words on the way (besides
names of formats and the language switch). Screenshots go to test-artifacts/reader-*.png.
"""

from __future__ import annotations

import csv
import io
import json
import re
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import pytest
from browser_support import ARTIFACTS, chromium, needs_chromium
from fixture_reader import build_reader_archive

from pipelines.publish.serve import datasette_process

pytestmark = needs_chromium

CJK = re.compile(r"[\u4e00-\u9fff]")
# ASCII words a Chinese page may show: formats, standards, units and the switch to English
ALLOWED_WORDS = {"csv", "json", "atom", "warc", "sha", "sha256", "utc", "http", "https", "english", "datasette",
                 "apache", "pubdate", "meta", "www", "html", "gov", "com", "example", "tzdaily", "news", "taixing",
                 "xwzx", "taizhou", "art", "col",
                 "script", "alert", "img", "src", "onerror"}  # archived data: a title carrying markup, shown as text
PLACE = "321200"  # 泰州市: must also find the articles of 泰兴市 (a county-level city of 泰州)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    archive, _ = build_reader_archive(tmp_path_factory.mktemp("browser-reader"))
    with open(tmp_path_factory.mktemp("log") / "datasette.log", "w") as log, \
            datasette_process(archive, output=log) as base:
        yield base


@pytest.fixture(scope="module", params=[1280, 390], ids=["desktop", "phone"])
def driver(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    with chromium(tmp_path_factory.mktemp("chromium-profile"), width=request.param) as browser:
        browser.govbrief_width = request.param
        yield browser


def shoot(driver: object, name: str) -> None:
    """A full-page screenshot (the window grown to the page's height)."""
    ARTIFACTS.mkdir(exist_ok=True)
    width = driver.govbrief_width
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(width, min(max(height, 800) + 140, 6000))
    driver.save_screenshot(str(ARTIFACTS / f"reader-{name}-{width}.png"))
    driver.set_window_size(width, 1000)


def visible_text(driver: object) -> str:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.TAG_NAME, "body").text


def check_page(driver: object) -> None:
    """What every page of the reader's path must satisfy."""
    assert CJK.search(driver.title), f"page title is not Chinese: {driver.title!r}"
    scroll, client = driver.execute_script(
        "return [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    width = driver.govbrief_width
    assert scroll <= client, f"{driver.current_url}: scrolls sideways at {width} px ({scroll} > {client})"
    text = visible_text(driver)
    assert not re.search(r"(?is)\bselect\b.*\bfrom\b", text), "SQL shown to the visitor"
    words = {w.lower() for w in re.findall(r"[A-Za-z]{3,}", re.sub(r"https?://\S+|\b[0-9a-f]{8,}\b", "", text))}
    assert words <= ALLOWED_WORDS, f"English on a Chinese page: {sorted(words - ALLOWED_WORDS)}"


def test_reader_path(server: str, driver: object) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import Select, WebDriverWait

    wait = WebDriverWait(driver, 15)
    # 1. the front page: a search box, the archive at a glance, the newest articles
    driver.get(server + "/")
    check_page(driver)
    assert driver.find_element(By.ID, "gb-count").text == "10"
    assert "2023-01-05 至 2023-04-03" in driver.find_element(By.ID, "gb-span").text
    assert len(driver.find_elements(By.CSS_SELECTOR, "#gb-health tbody tr")) == 5
    shoot(driver, "front")

    # 2. a search with filters, typed as a reader would
    driver.find_element(By.ID, "gb-q").send_keys("项目")
    driver.find_element(By.ID, "gb-from").send_keys("2023-02")
    driver.find_element(By.ID, "gb-to").send_keys("2023-03")
    Select(driver.find_element(By.ID, "gb-place")).select_by_value(PLACE)
    driver.find_element(By.ID, "gb-submit").click()
    wait.until(ec.presence_of_element_located((By.ID, "gb-results")))
    check_page(driver)
    assert driver.title.startswith("检索结果：“项目” · 泰州市 · 2023-02 至 2023-03")
    hits = driver.find_elements(By.CSS_SELECTOR, "#gb-results .gb-hit")
    dates = [h.find_element(By.CSS_SELECTOR, ".gb-date").text for h in hits]
    assert len(hits) == 5 and all("2023-02-01" <= d <= "2023-03-31" for d in dates)
    publishers = {h.find_element(By.CSS_SELECTOR, ".gb-publisher").text for h in hits}
    assert publishers == {"泰兴市人民政府", "泰州市人民政府", "泰州日报"}  # 泰兴市 found through 泰州
    assert driver.find_elements(By.CSS_SELECTOR, "#gb-results mark")
    listed = [a.get_attribute("href").rsplit("/", 1)[1] for a in driver.find_elements(By.CSS_SELECTOR, "a.gb-title")]
    shoot(driver, "search")
    results_url = driver.current_url
    feed_url = driver.find_element(By.ID, "gb-atom").get_attribute("href")
    csv_url = driver.find_element(By.ID, "gb-csv").get_attribute("href")

    # 3. the export: exactly these results
    driver.find_element(By.ID, "gb-json").click()
    exported = json.loads(visible_text(driver))
    assert [str(r["id"]) for r in exported["rows"]] == listed
    shoot(driver, "export")
    with urllib.request.urlopen(csv_url, timeout=10) as response:
        rows = list(csv.DictReader(io.StringIO(response.read().decode("utf-8-sig"))))
    assert [r["id"] for r in rows] == listed

    # 4. the reading view, its citation copied with the button
    driver.get(results_url)
    first = driver.find_element(By.CSS_SELECTOR, "a.gb-title")
    title = first.text
    first.click()
    wait.until(ec.presence_of_element_located((By.ID, "article-title")))
    check_page(driver)
    assert driver.find_element(By.ID, "article-title").text == title
    citation = driver.find_element(By.ID, "citation").get_attribute("value")
    assert citation.startswith(title + " · ") and "存档于 2023-04-05 · sha256:" in citation
    assert driver.find_elements(By.CSS_SELECTOR, "#article-text p")
    button = driver.find_element(By.ID, "copy-citation")
    button.click()
    wait.until(lambda d: button.text == "已复制")
    shoot(driver, "article")

    # 5. the feed of the search, named after it
    driver.get(feed_url)
    source = driver.page_source
    feed_title = re.search(r"<title>(.*?)</title>", source.replace("&lt;", "<").replace("&gt;", ">"))
    assert feed_title and feed_title.group(1) == "政务项目新闻检索：“项目” · 泰州市 · 2023-02 至 2023-03"
    shoot(driver, "feed")
    with urllib.request.urlopen(feed_url, timeout=10) as response:
        feed = ET.fromstring(response.read())
    entries = feed.findall("{http://www.w3.org/2005/Atom}entry")
    assert {e.find("{http://www.w3.org/2005/Atom}title").text for e in entries} >= {title}
