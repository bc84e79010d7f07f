"""Provenance in Datasette: the article page shows where else the text was published, every stored
capture, the versions re-checks found and a deletion; canned queries give the history, the re-check
log and the copies of a URL; the changed/deleted views list them.

The archive (tests/fixture_provenance.py) is built through the real pipeline functions (archive_capture,
cluster_archive, apply_recheck) in a real SQLite file and read through Datasette's own test client.
"""

from __future__ import annotations

import asyncio
import html
from typing import Any
from urllib.parse import quote

import pytest
from fixture_provenance import BLOCKED_URL, GOV_URL, OTHER_URL, REPOST_URL, build_provenance_archive

from pipelines.publish.serve import make_datasette
from pipelines.store import storage


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    path, ids = build_provenance_archive(tmp_path_factory.mktemp("provenance"))
    # the operator publishes raw captures (--show-captures): the page links each one as text
    return {"path": path, "ids": ids, "ds": make_datasette(str(path), show_captures=True)}


def get(ds: Any, path: str) -> Any:
    async def go() -> Any:
        return await ds.client.get(path)

    response = asyncio.run(go())
    assert response.status_code == 200, (path, response.status_code, response.text[:500])
    return response


def section(page: str, element_id: str) -> str:
    """The HTML of the element with this id, up to its closing tag (tables and paragraphs here)."""
    start = page.index(f'id="{element_id}"')
    tag = page[page.rindex("<", 0, start) + 1:start].split()[0]
    return page[start:page.index(f"</{tag}>", start)]


def test_repost_is_clustered_with_the_government_original(archive: dict) -> None:
    ds, ids = archive["ds"], archive["ids"]
    rows = get(ds, f"/archive/also_published.json?url={quote(REPOST_URL)}&_shape=array").json()
    assert [(r["article_id"], r["is_canonical"]) for r in rows] == [(ids["gov"], 1)]
    rows = get(ds, f"/archive/also_published.json?url={quote(GOV_URL)}&_shape=array").json()
    assert [(r["article_id"], r["is_canonical"]) for r in rows] == [(ids["repost"], 0)]
    assert get(ds, f"/archive/also_published.json?url={quote(OTHER_URL)}&_shape=array").json() == []


def test_article_page_shows_also_published_at(archive: dict) -> None:
    ds, ids = archive["ds"], archive["ids"]
    gov = get(ds, f"/archive/articles/{ids['gov']}").text
    table = section(gov, "also-published")
    assert f'href="{REPOST_URL}"' in table and f"/archive/articles/{ids['repost']}" in table
    assert "本文即为原始发布" in gov
    repost = get(ds, f"/archive/articles/{ids['repost']}").text
    table = section(repost, "also-published")
    assert f'href="{GOV_URL}"' in table and "（原始发布）" in table
    assert "本文即为原始发布" not in repost
    other = get(ds, f"/archive/articles/{ids['other']}").text
    assert 'id="also-published-none"' in other and 'id="also-published"' not in other


def test_article_page_lists_every_capture_and_the_versions(archive: dict) -> None:
    ds, ids = archive["ds"], archive["ids"]
    page = get(ds, f"/archive/articles/{ids['gov']}").text
    db = storage.open_db(archive["path"])
    capture_ids = [r["id"] for r in db.query("select id from captures where url = ? order by id desc", [GOV_URL])]
    current = db["articles"].get(ids["gov"])["capture_id"]
    db.conn.close()
    assert len(capture_ids) == 2 and current == capture_ids[0]
    captures = section(page, "captures")
    positions = [captures.index(f'href="/-/govbrief/capture/archive/{c}"') for c in capture_ids]
    assert positions == sorted(positions)  # newest first
    assert "（正文取自此快照）" in captures
    versions = section(page, "versions")
    assert "v2" in versions and "v1" in versions and "共3[-2-]{+5+}个" in html.unescape(versions)
    link = section(page, "article-history-link")
    assert f'href="/archive/article_history?url={quote(GOV_URL)}"' in link


def test_history_canned_query_has_the_diff(archive: dict) -> None:
    rows = get(archive["ds"], f"/archive/article_history.json?url={quote(GOV_URL)}&_shape=array").json()
    assert [r["version"] for r in rows] == [1, 2]
    assert rows[0]["diff"] is None
    assert "-" in rows[1]["diff"] and "32个" in rows[1]["diff"] and "35个" in rows[1]["diff"]
    changed = get(archive["ds"], "/archive/changed_articles.json?_shape=array").json()
    assert [(r["article_id"], r["version"]) for r in changed] == [(archive["ids"]["gov"], 2)]


def test_deleted_article_keeps_its_text_and_says_since_when(archive: dict) -> None:
    ds, ids = archive["ds"], archive["ids"]
    page = get(ds, f"/archive/articles/{ids['other']}").text
    banner = section(page, "article-gone")
    assert "2026-03-22" in banner and "http_404" in banner
    assert "推进高标准农田建设" in section(page, "article-text")
    deleted = get(ds, "/archive/deleted_articles.json?_shape=array").json()
    assert [(r["article_id"], r["gone_reason"]) for r in deleted] == [(ids["other"], "http_404")]
    log = get(ds, f"/archive/recheck_log.json?url={quote(OTHER_URL)}&_shape=array").json()
    assert [(r["event"], r["status"], r["reason"]) for r in log] == [("gone", 404, "http_404")]


def test_challenge_is_logged_but_not_a_deletion(archive: dict) -> None:
    ds, ids = archive["ds"], archive["ids"]
    page = get(ds, f"/archive/articles/{ids['blocked']}").text
    assert 'id="article-gone"' not in page
    assert "最近：challenge" in page
    log = get(ds, f"/archive/recheck_log.json?url={quote(BLOCKED_URL)}&_shape=array").json()
    assert [(r["event"], r["status"]) for r in log] == [("challenge", 521)]


def test_provenance_tables_render_archived_markup_as_text(archive: dict) -> None:
    ds, ids = archive["ds"], archive["ids"]
    for path in (f"/archive/articles/{ids['gov']}", f"/archive/articles/{ids['repost']}",
                 f"/archive/also_published?url={quote(GOV_URL)}"):
        page = get(ds, path).text
        assert "<script>alert(1)" not in page, path
        assert "&lt;script&gt;alert(1)" in page, path


def test_provenance_tables_are_described(archive: dict) -> None:
    ds = archive["ds"]
    for table in ("article_versions", "article_events", "changed_articles", "deleted_articles", "clusters",
                  "article_clusters"):
        assert ds.table_metadata("archive", table).get("title"), table
    for query in ("article_history", "recheck_log", "also_published"):
        assert get(ds, f"/archive/{query}.json?url=http%3A%2F%2Fnowhere.example%2F&_shape=array").json() == []
