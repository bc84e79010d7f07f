"""Registry validation, crawl scope decisions, the run lock and the run verdict."""

from collections import Counter

import pytest

from crawler.health import EXIT_OK, EXIT_UNHEALTHY, assess_run
from crawler.scope import Scope, scope_refusal
from crawler.sources import SourcesError, load_sources
from govbrief.lock import LockHeld, RunLock

GOOD = """sources:
  - id: city-a          # comment kept
    name: 某市人民政府
    region: 江苏省某市
    start_urls: [http://www.a.gov.cn/xwzx/index.html]
    feed_urls: [http://www.a.gov.cn/rss.xml]
"""


def write(tmp_path, text):
    path = tmp_path / "sources.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_valid_registry(tmp_path):
    [source] = load_sources(write(tmp_path, GOOD))
    assert source.id == "city-a" and source.max_pages == 200
    assert source.origins == {"www.a.gov.cn"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (GOOD.replace("id: city-a", "id: City_A"), "line 2: sources[0] (id 'City_A').id: must match"),
        (GOOD.replace("    region: 江苏省某市\n", ""), "sources[0] (id 'city-a').region: required field is missing"),
        (GOOD + "    max_pagez: 3\n", "sources[0] (id 'city-a').max_pagez: unknown field"),
        (GOOD.replace("[http://www.a.gov.cn/xwzx/index.html]", "[ftp://x/]"), "start_urls[0]: not an absolute http"),
        (GOOD + "    article_url_pattern: '(['\n", "article_url_pattern: invalid regular expression"),
        (GOOD + GOOD.split("sources:\n")[1], "sources[1] (id 'city-a').id: duplicate id"),
        ("sources: [\n", "line 2, column 1"),
        ("just: text\n", "top level: expected a mapping with a 'sources' list"),
    ],
)
def test_malformed_registry_names_entry_and_field(tmp_path, text, expected):
    path = write(tmp_path, text)
    with pytest.raises(SourcesError) as err:
        load_sources(path)
    assert str(path) in str(err.value)
    assert expected in str(err.value)


def test_scope_refuses_other_hosts_schemes_and_private_addresses():
    scope = Scope(frozenset({"www.a.gov.cn", "127.0.0.1:8080"}), frozenset({"b.gov.cn"}))
    assert scope_refusal("http://www.a.gov.cn/x.html", scope) is None
    assert scope_refusal("http://news.b.gov.cn/x.html", scope) is None  # allowed_domains: subdomains
    assert scope_refusal("http://127.0.0.1:8080/x", scope) is None  # named explicitly
    assert "not one of the source's origins" in scope_refusal("http://www.c.gov.cn/", scope)
    assert "private, loopback or link-local" in scope_refusal("http://169.254.169.254/latest/meta-data/", scope)
    assert "private, loopback or link-local" in scope_refusal("http://10.1.2.3/", scope)
    assert "private, loopback or link-local" in scope_refusal("http://127.0.0.2:8080/", scope)
    assert "scheme" in scope_refusal("file:///etc/passwd", scope)
    assert scope_refusal("http://www.a.gov.cn/", None) == "no source for this request"


def test_lock_is_exclusive_and_released(tmp_path):
    path = str(tmp_path / "archive.db.lock")
    first = RunLock(path).acquire()
    with pytest.raises(LockHeld, match="pid"):
        RunLock(path).acquire()
    first.release()
    RunLock(path).acquire().release()  # a stale file with no live holder does not block


def test_run_verdict():
    healthy = Counter(list_ok=3, article_links=10, article_ok=9, article_failed=1)
    assert assess_run({"a": healthy}, "finished").exit_status == EXIT_OK
    known_only = Counter(list_ok=1, article_links=5, articles_known=5)  # incremental run: nothing new is fine
    assert assess_run({"a": known_only}, "finished").exit_status == EXIT_OK
    dead = Counter(list_failed=2)
    verdict = assess_run({"a": healthy, "b": dead}, "finished")
    assert verdict.exit_status == EXIT_UNHEALTHY and "b: no list page" in verdict.message
    broken = Counter(list_ok=1, article_links=10, article_ok=2, article_failed=8)
    assert "8 of 10 article fetches failed" in assess_run({"a": broken}, "finished").message
    empty = Counter(list_ok=2)
    assert "offered no article link" in assess_run({"a": empty}, "finished").message
    assert assess_run({"a": healthy}, "shutdown").exit_status == EXIT_UNHEALTHY
