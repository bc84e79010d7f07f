"""The extraction fields in the archive: migration 20 (on a new archive and on one at schema 1), the
政务公开 fields and the provenance stored by the crawl's own function (archive_capture), the same text
whatever the crawl order and after `reextract`, and the article page / facet in Datasette (a real
SQLite file read through Datasette's test client)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import sqlite_utils

from pipelines.process.archive import archive_capture, reextract_all
from pipelines.publish.serve import make_datasette
from pipelines.store import migrations, storage
from pipelines.store.storage import Capture

FIXTURES = Path(__file__).parent / "fixtures" / "extract" / "families"
GRID_URL = "http://www.linhe.gov.cn/art/2023/3/6/art_1229_1001.html"
NEWS_URL = "http://www.linhe.gov.cn/art/2023/3/3/art_1229_1002.html"
LINKS_URL = "http://www.linhe.gov.cn/art/2023/3/2/art_1229_1003.html"


def _capture(url: str, name: str, content_type: str = "text/html") -> Capture:
    return Capture(url=url, final_url=url, status=200, headers={"Content-Type": content_type},
                   body=(FIXTURES / name).read_bytes(), fetched_at="2023-03-06T08:00:00+00:00", source_id="linhe")


PAGES = [(GRID_URL, "grid_gbk.html"), (NEWS_URL, "grid_list.html"), (LINKS_URL, "linklist_dated.html")]


def _archive(path: Path, order: list[tuple[str, str]]) -> sqlite_utils.Database:
    db = storage.open_db(path)
    migrations.ensure_schema(db)
    for url, name in order:
        archive_capture(db, _capture(url, name), region="临河")
    return db


def test_migration_20_on_a_new_archive_and_on_a_schema_1_archive(tmp_path: Path) -> None:
    db = storage.open_db(tmp_path / "new.db")
    migrations.ensure_schema(db)
    assert migrations.schema_version(db) >= 20
    assert {"doc_number", "index_no", "issuing_org", "written_date", "extraction"} <= set(db["articles"].columns_dict)

    old = storage.open_db(tmp_path / "old.db")
    with old.conn:
        migrations.MIGRATIONS[0].apply(old)  # the schema of govbrief 0.1 (user_version 1)
        old.execute("PRAGMA user_version = 1")
    old["articles"].insert({"url": "http://x.gov.cn/1.html", "title": "旧文章", "text": "旧的正文。"})
    applied = migrations.migrate(old)
    assert 20 in applied
    row = next(old.query("select title, doc_number, extraction from articles"))
    assert row == {"title": "旧文章", "doc_number": None, "extraction": None}  # nothing archived is lost
    assert migrations.migrate(old) == []  # idempotent


def test_crawl_stores_grid_fields_and_provenance_and_reextract_changes_nothing(tmp_path: Path) -> None:
    db = _archive(tmp_path / "a.db", PAGES)
    row = next(db.query("select * from articles where url = ?", [GRID_URL]))
    assert (row["doc_number"], row["index_no"]) == ("临政办发〔2023〕12号", "11320100MB1234567X/2023-00123")
    assert (row["issuing_org"], row["written_date"], row["published"]) == ("临河市人民政府办公室", "2023-03-01",
                                                                             "2023-03-06")
    provenance = json.loads(row["extraction"])
    assert provenance["extractor"] == f"govbrief-extract {row['extractor_version']}"
    assert provenance["published"]["from"] == "grid:发布日期"
    assert provenance["removed_by_family"]["grid"] == 1
    assert provenance["encoding"] == {"charset": "gb18030", "from": "meta"}

    before = list(db.query("select url, title, text, published, extraction from articles order by url"))
    counts = reextract_all(db)
    assert counts["articles"] == 3 and counts["changed"] == 0
    assert list(db.query("select url, title, text, published, extraction from articles order by url")) == before

    # the same captures archived in the opposite order give the same articles
    other = _archive(tmp_path / "b.db", PAGES[::-1])
    assert list(other.query("select url, title, text, published, extraction from articles order by url")) == before


def test_datasette_article_page_shows_grid_fields_and_provenance_and_issuing_org_facet(tmp_path: Path) -> None:
    db = _archive(tmp_path / "archive.db", PAGES)
    grid_id = next(db.query("select id from articles where url = ?", [GRID_URL]))["id"]
    links_id = next(db.query("select id from articles where url = ?", [LINKS_URL]))["id"]
    db.conn.close()
    ds = make_datasette(str(tmp_path / "archive.db"))

    async def get(path: str) -> str:
        response = await ds.client.get(path)
        assert response.status_code == 200, (path, response.text[:300])
        return response.text

    page = asyncio.run(get(f"/archive/articles/{grid_id}"))
    assert 'id="article-doc-number">临政办发〔2023〕12号<' in page
    assert 'id="article-written-date">2023-03-01<' in page
    assert 'id="article-issuing-org">临河市人民政府办公室<' in page
    assert 'id="article-provenance"' in page and "信息公开表 发布日期" in page and "grid 1" in page
    plain = asyncio.run(get(f"/archive/articles/{links_id}"))
    assert 'id="article-grid"' not in plain and "link-list 5" in plain  # no grid: only the provenance

    # the facet is configured in metadata.yml: no ?_facet= needed
    facets = json.loads(asyncio.run(get("/archive/articles.json")))["facet_results"]
    results = facets["results"] if "results" in facets else facets
    values = {r["value"]: r["count"] for r in results["issuing_org"]["results"]}
    assert values == {"临河市人民政府办公室": 1, "临河区发展和改革局": 1}
    assert 'id="facet-issuing_org"' in asyncio.run(get("/archive/articles"))


def test_govbrief_extract_json_has_the_fields_and_provenance() -> None:
    import subprocess
    import sys

    page = FIXTURES / "grid_gbk.html"
    result = subprocess.run([sys.executable, "-m", "govbrief", "extract", str(page), "--url", GRID_URL,
                             "--content-type", "text/html; charset=utf-8"],  # a wrong header, as servers send
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    out = json.loads(result.stdout)
    assert (out["doc_number"], out["index_no"], out["issuing_org"], out["written_date"]) == (
        "临政办发〔2023〕12号", "11320100MB1234567X/2023-00123", "临河市人民政府办公室", "2023-03-01")
    assert out["provenance"]["encoding"]["from"] == "meta"  # the header's utf-8 does not decode: the meta's gbk does
    assert out["provenance"]["removed_by_family"]["grid"] == 1


def test_an_archive_of_an_older_govbrief_is_migrated_by_a_writer_never_by_serve(tmp_path: Path) -> None:
    """metadata.yml's issuing_org facet needs migration 20. `govbrief serve` only reads (the archive may
    be read-only): it refuses an old archive with the command that upgrades it; `govbrief migrate`
    (a writer, under the run lock) runs the missing migrations, after which Datasette reads it."""
    path = tmp_path / "archive.db"
    old = storage.open_db(path)
    with old.conn:
        migrations.MIGRATIONS[0].apply(old)  # the schema of govbrief 0.1 (user_version 1)
        old.execute("PRAGMA user_version = 1")
    old["articles"].insert({"url": "http://x.gov.cn/1.html", "title": "旧文章", "text": "旧的正文。"})
    old.conn.close()
    govbrief = [sys.executable, "-m", "govbrief"]
    served = subprocess.run([*govbrief, "serve", "--db", str(path), "--port", "1"], capture_output=True,
                            text=True, timeout=120)
    assert served.returncode == 2 and "govbrief migrate --db" in served.stderr
    assert storage.open_db(path, read_only=True).execute("PRAGMA user_version").fetchone()[0] == 1  # untouched
    migrated = subprocess.run([*govbrief, "migrate", "--db", str(path)], capture_output=True, text=True, timeout=120)
    assert migrated.returncode == 0, migrated.stderr
    again = subprocess.run([*govbrief, "migrate", "--db", str(path)], capture_output=True, text=True, timeout=120)
    assert "schema is current" in again.stdout
    ds = make_datasette(str(path))

    async def get(url: str) -> int:
        return (await ds.client.get(url)).status_code

    assert asyncio.run(get("/archive/articles")) == 200


def test_datasette_article_page_says_which_decorations_left_the_title(tmp_path: Path) -> None:
    """A document site's copy (第一篇：… [精选]): the archive holds the clean headline, the article page
    says what was removed from it."""
    page = ("<html><head><title>第一篇：全市项目建设推进会讲话稿[精选]_某某文库</title></head><body>"
            "<h1>第一篇：全市项目建设推进会讲话稿[精选]</h1><p>今天召开全市项目建设推进会，主要任务是总结去年项目建设"
            "工作，安排部署今年重点任务，动员全市上下狠抓项目落实。</p></body></html>").encode()
    url = "http://wenku.example.com/view/8c2f.html"
    db = storage.open_db(tmp_path / "archive.db")
    migrations.ensure_schema(db)
    archive_capture(db, Capture(url=url, final_url=url, status=200, headers={"Content-Type": "text/html"}, body=page,
                                fetched_at="2023-03-06T08:00:00+00:00", source_id=None), region=None)
    [row] = db.query("select id, title from articles")
    db.conn.close()
    assert row["title"] == "全市项目建设推进会讲话稿"

    async def get(path: str) -> str:
        response = await make_datasette(str(tmp_path / "archive.db")).client.get(path)
        assert response.status_code == 200, (path, response.text[:300])
        return response.text

    html = asyncio.run(get(f"/archive/articles/{row['id']}"))
    assert "（已去除文库标题装饰 第一篇： [精选]）" in html
