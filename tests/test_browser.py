"""Headless Chromium against a real `datasette serve` of the fixture archive: search a 2-character
query, see highlighted hits, open an article, and check archived <script>s do not run.

Needs Debian's chromium and chromium-driver (/usr/bin/chromium, /usr/bin/chromedriver); skipped
only when they are missing. Screenshots are kept in test-artifacts/ at the repository root.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from browser_support import ARTIFACTS, chromium, needs_chromium
from conftest_search import XSS_TITLE, build_archive
from fixture_provenance import GOV_URL, REPOST_URL, build_provenance_archive

from pipelines.publish.serve import datasette_process
from pipelines.search.search_index import fold

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    archive = build_archive(tmp_path_factory.mktemp("browser"))
    with open(tmp_path_factory.mktemp("log") / "datasette.log", "w") as log, \
            datasette_process(archive, output=log) as base:
        yield base


@pytest.fixture(scope="module")
def provenance_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, int]]]:
    archive, ids = build_provenance_archive(tmp_path_factory.mktemp("browser-provenance"))
    with open(tmp_path_factory.mktemp("log") / "datasette.log", "w") as log, \
            datasette_process(archive, output=log) as base:
        yield base, ids


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    with chromium(tmp_path_factory.mktemp("chromium-profile")) as browser:
        yield browser


def test_search_highlight_and_open_article(server: str, driver: object) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    ARTIFACTS.mkdir(exist_ok=True)
    driver.get(server + "/archive/articles")
    box = driver.find_element(By.ID, "_search")
    box.send_keys("農業")  # 2 characters, Traditional: must also find the Simplified 农业
    box.send_keys(Keys.ENTER)
    wait = WebDriverWait(driver, 15)
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "td mark")))
    marks = {m.text for m in driver.find_elements(By.CSS_SELECTOR, "td mark")}
    assert {"農業", "农业"} <= marks  # both scripts are highlighted
    assert {fold(m) for m in marks} == {"农业"}
    assert "_search=" in driver.current_url
    driver.execute_script("document.querySelector('td mark').scrollIntoView({block: 'center'})")
    driver.save_screenshot(str(ARTIFACTS / "browser-search.png"))

    link = driver.find_element(By.CSS_SELECTOR, "a.govbrief-title")
    title = link.text
    link.click()
    wait.until(ec.presence_of_element_located((By.ID, "article-title")))
    assert driver.find_element(By.ID, "article-title").text == title
    assert driver.find_element(By.ID, "article-url").get_attribute("href").startswith("https://gov.example.cn/")
    paragraphs = driver.find_elements(By.CSS_SELECTOR, "#article-text p")
    assert paragraphs and any("农业" in p.text or "農業" in p.text for p in paragraphs)
    driver.save_screenshot(str(ARTIFACTS / "browser-article.png"))


def test_archived_scripts_do_not_run(server: str, driver: object) -> None:
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By

    for path in ("/archive/articles?_search=泰州", "/archive/search?q=泰州"):
        driver.get(server + path)
        time.sleep(0.3)  # give an onerror handler the chance it must not get
        with pytest.raises(NoAlertPresentException):
            driver.switch_to.alert  # noqa: B018 - accessing it is the check
        assert "pwned" not in driver.title
        assert "<script>alert(1)</script>" in driver.find_element(By.TAG_NAME, "body").text  # as text
    driver.get(server + "/archive/articles?_search=泰州项目")
    link = next(a for a in driver.find_elements(By.CSS_SELECTOR, "a.govbrief-title") if "<script>" in a.text)
    link.click()
    time.sleep(0.3)
    assert driver.find_element(By.ID, "article-title").text == XSS_TITLE  # shown as text
    assert "pwned" not in driver.title
    with pytest.raises(NoAlertPresentException):
        driver.switch_to.alert  # noqa: B018
    driver.save_screenshot(str(ARTIFACTS / "browser-xss-article.png"))


def test_article_page_shows_copies_captures_and_history(provenance_server: tuple[str, dict[str, int]],
                                                      driver: object) -> None:
    from selenium.webdriver.common.by import By

    base, ids = provenance_server
    driver.get(f"{base}/archive/articles/{ids['repost']}")
    copies = driver.find_elements(By.CSS_SELECTOR, "#also-published tbody tr")
    assert len(copies) == 1 and "（原始发布）" in copies[0].text
    original = copies[0].find_element(By.CSS_SELECTOR, "td:nth-child(2) a")
    assert original.get_attribute("href") == GOV_URL
    assert "<script>alert(1)</script>" in driver.find_element(By.ID, "article-title").text  # as text
    driver.save_screenshot(str(ARTIFACTS / "browser-repost.png"))
    copies[0].find_element(By.CSS_SELECTOR, "td:first-child a").click()  # to the government original
    assert driver.find_element(By.ID, "article-url").get_attribute("href") == GOV_URL
    copies = driver.find_elements(By.CSS_SELECTOR, "#also-published tbody tr")
    assert [c.find_element(By.CSS_SELECTOR, "td:nth-child(2) a").get_attribute("href") for c in copies] == [REPOST_URL]
    assert len(driver.find_elements(By.CSS_SELECTOR, "#captures tbody tr")) == 2
    # the public default links capture records, never the raw bodies (govbrief serve --show-captures)
    assert not driver.find_elements(By.CSS_SELECTOR, 'a[href*="/-/govbrief/capture/"]')
    assert [r.text.split()[0] for r in driver.find_elements(By.CSS_SELECTOR, "#versions tbody tr")] == ["v2", "v1"]
    driver.execute_script("document.getElementById('also-published').scrollIntoView()")
    driver.save_screenshot(str(ARTIFACTS / "browser-provenance.png"))
    driver.find_element(By.ID, "article-history-link").click()
    assert "32个" in driver.find_element(By.TAG_NAME, "body").text  # the diff of v2 against v1
