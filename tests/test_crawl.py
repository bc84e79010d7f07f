"""End to end: real `govbrief crawl` processes (real Scrapy, real HTTP on 127.0.0.1) over the sample web.

One module-scoped archive is crawled twice; the tests read what the two runs did.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from support import rows, run_crawl

from govbrief.lock import RunLock
from sampleweb import EXPECTED, start_sample_web

REPO = Path(__file__).resolve().parent.parent


def govbrief(*args: str, timeout: int = 180) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run([sys.executable, "-m", "govbrief", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout, env=env)


def crawl(sources: Path, db: Path, *extra: str) -> subprocess.CompletedProcess:
    return run_crawl(sources, db, *extra)


@pytest.fixture(scope="module")
def web():
    with start_sample_web() as sample_web:
        yield sample_web


@pytest.fixture(scope="module")
def archive(web, tmp_path_factory):
    """Crawl the sample web twice into one archive; record which requests each run made."""
    tmp = tmp_path_factory.mktemp("crawl")
    sources, db = tmp / "sources.yml", tmp / "archive.db"
    web.write_sources(sources)
    first = crawl(sources, db)
    first_requests = list(web.requests)
    snapshot = rows(db, "select url, title, text, published from articles order by url")
    second = crawl(sources, db)
    second_requests = list(web.requests)[len(first_requests):]
    return {"sources": sources, "db": db, "first": first, "second": second, "snapshot": snapshot,
            "first_requests": first_requests, "second_requests": second_requests}


def expected_urls(web) -> dict[str, dict]:
    return {web.url(a["site"], a["path"]): a for a in EXPECTED["articles"]}


def test_first_run_is_healthy(archive):
    assert archive["first"].returncode == 0, archive["first"].stdout + archive["first"].stderr[-3000:]
    [run] = rows(archive["db"], "select * from crawl_runs where id = 1")
    assert run["status"] == "ok" and run["exit_status"] == 0 and run["finished_at"]


def test_every_sample_article_archived_exactly_once(web, archive):
    expected = expected_urls(web)
    archived = rows(archive["db"], "select url, source_id, title, published from articles")
    urls = [a["url"] for a in archived]
    assert len(urls) == len(set(urls))
    assert sorted(urls) == sorted(expected), {"missing": set(expected) - set(urls), "extra": set(urls) - set(expected)}
    for article in archived:
        truth = expected[article["url"]]
        assert article["source_id"] == truth["site"]
        assert article["published"] == truth["published"], article["url"]


def test_no_list_page_or_off_site_page_stored_as_article(web, archive):
    urls = {a["url"] for a in rows(archive["db"], "select url from articles")}
    for page in EXPECTED["not_articles"]:
        assert web.url(page["site"], page["path"]) not in urls
    sql = "select a.url, s.start_urls from articles a join sources s on s.id = a.source_id"
    for article in rows(archive["db"], sql):
        origins = {urlsplit(u).netloc for u in json.loads(article["start_urls"])}
        assert urlsplit(article["url"]).netloc in origins


def test_js_pagination_followed_and_trap_bounded(web, archive):
    paths = [r.path for r in archive["first_requests"] if r.site == "city-trs"]
    for n in (1, 2, 3):
        assert f"/xwzx/xmjs/index_{n}.html" in paths
    calendar = [p for p in paths if p.startswith("/calendar/")]
    assert len(calendar) <= 3, calendar


def test_robots_and_never_fetch_respected(web, archive):
    requested = {(r.site, r.path) for r in archive["first_requests"] + archive["second_requests"]}
    for page in EXPECTED["never_fetch"]:
        assert (page["site"], page["path"]) not in requested


def test_gbk_page_with_wrong_header_decoded(web, archive):
    gbk = [a for a in EXPECTED["articles"] if a["site"] == "county-gbk"]
    assert gbk
    for truth in gbk:
        url = web.url("county-gbk", truth["path"])
        [article] = rows(archive["db"], "select title, text from articles where url = ?", [url])
        assert "\ufffd" not in article["text"] + (article["title"] or "")
        assert truth["title"] in (article["title"] or "")


def test_second_run_fetches_no_article_again(web, archive):
    assert archive["second"].returncode == 0, archive["second"].stderr[-3000:]
    article_paths = {(a["site"], a["path"]) for a in EXPECTED["articles"]}
    refetched = [(r.site, r.path) for r in archive["second_requests"] if (r.site, r.path) in article_paths]
    assert refetched == []
    [run] = rows(archive["db"], "select * from crawl_runs where id = 2")
    assert run["articles_new"] == 0 and run["exit_status"] == 0 and run["list_pages"] >= 1
    # incremental stop: the TRS chain stops at its first page, which offers nothing new
    second_trs = [r.path for r in archive["second_requests"] if r.site == "city-trs"]
    assert "/xwzx/xmjs/index_1.html" not in second_trs


def test_captures_are_stored_as_evidence(archive):
    captures = rows(archive["db"], "select c.* from captures c join articles a on a.capture_id = c.id")
    assert captures
    import gzip
    import hashlib

    for capture in captures:
        body = gzip.decompress(capture["body"])
        assert hashlib.sha256(body).hexdigest() == capture["sha256"]
        assert capture["status"] == 200 and capture["fetched_at"] and json.loads(capture["headers"])


def test_reextract_reproduces_articles(archive):
    result = govbrief("reextract", "--db", str(archive["db"]))
    assert result.returncode == 0, result.stderr
    after = rows(archive["db"], "select url, title, text, published from articles order by url")
    assert after == archive["snapshot"]


def test_malformed_sources_rejected_before_anything_is_written(tmp_path):
    bad = tmp_path / "sources.yml"
    bad.write_text("sources:\n  - id: ok-one\n    name: 甲\n    region: 乙\n    start_urls: [http://127.0.0.1:9/]\n"
                   "  - id: broken\n    name: 丙\n    region: 丁\n    start_urls: not-a-list\n", encoding="utf-8")
    db = tmp_path / "archive.db"
    result = crawl(bad, db)
    assert result.returncode == 2
    assert "sources[1] (id 'broken').start_urls" in result.stderr and str(bad) in result.stderr
    assert not db.exists()


def test_concurrent_crawl_refused_by_lock(archive):
    before = rows(archive["db"], "select count(*) n from crawl_runs")[0]["n"]
    with RunLock(str(archive["db"]) + ".lock").acquire():
        result = crawl(archive["sources"], archive["db"])
    assert result.returncode == 75
    assert "another govbrief run holds" in result.stderr
    assert rows(archive["db"], "select count(*) n from crawl_runs")[0]["n"] == before


def test_dead_source_makes_the_run_unhealthy(web, tmp_path):
    sources = tmp_path / "sources.yml"
    sources.write_text(
        "sources:\n  - id: gone\n    name: 已改版网站\n    region: 测试\n"
        f"    start_urls: [{web.url('city-trs', '/no-such-column/index.html')}]\n", encoding="utf-8")
    result = crawl(sources, tmp_path / "archive.db")
    assert result.returncode == 1
    assert "gone: no list page" in result.stdout


def test_datasette_json_api_returns_the_articles(web, archive):
    import asyncio

    from pipelines.publish.serve import make_datasette

    datasette = make_datasette(str(archive["db"]))

    async def fetch():
        response = await datasette.client.get("/archive/articles.json?_shape=array&_size=max&_col=url")
        return response

    response = asyncio.run(fetch())
    assert response.status_code == 200
    assert sorted(r["url"] for r in response.json()) == sorted(expected_urls(web))


def test_reposts_clustered_with_the_government_original(web, archive):
    """After the crawl, each farm repost sits in a cluster whose canonical is the gov original."""
    reposts = [a for a in EXPECTED["articles"] if a.get("repost_of")]
    assert reposts
    for truth in reposts:
        original = truth["repost_of"]
        [row] = rows(archive["db"], """
            select ca.url as canonical_url from articles a
              join article_clusters m on m.article_id = a.id
              join clusters c on c.id = m.cluster_id
              join articles ca on ca.id = c.canonical_article_id
             where a.url = ?""", [web.url(truth["site"], truth["path"])])
        assert row["canonical_url"] == web.url(original["site"], original["path"])
