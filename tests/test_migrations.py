"""Numbered migrations on real archive files: an archive of every earlier schema reaches today's.

tests/fixtures/archive_v1.sql is the frozen schema (and a few rows) of a version-1 archive, as the
code before numbered migrations made it. Writers (process, crawl) migrate it under the run lock;
read-only commands (export-warc) read it as it is and never write a byte.
"""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from support import fresh_interpreter

from pipelines.search.search_index import search_ids
from pipelines.store import migrations, storage

REPO = Path(__file__).resolve().parent.parent
V1_SQL = REPO / "tests" / "fixtures" / "archive_v1.sql"


def build_v1(path: Path) -> Path:
    conn = sqlite3.connect(path)
    conn.executescript(V1_SQL.read_text(encoding="utf-8"))
    conn.close()
    return path


def govbrief(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "govbrief", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=120)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def user_version(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("pragma user_version").fetchone()[0]
    finally:
        conn.close()


def test_fixture_is_a_version_1_archive_without_processing_columns(tmp_path):
    db = build_v1(tmp_path / "v1.db")
    assert user_version(db) == 1
    columns = {r[1] for r in sqlite3.connect(db).execute("pragma table_info(captures)")}
    assert "processed_at" not in columns and "kind" not in columns


def test_every_migration_runs_in_order_on_a_v1_archive(tmp_path):
    db = storage.open_db(build_v1(tmp_path / "v1.db"))
    later = [m.number for m in migrations.MIGRATIONS if m.number > 1]  # numbered by range, in order
    assert later == sorted(later) and [m.number for m in migrations.pending(db)] == later
    applied = migrations.migrate(db)
    assert applied == later
    assert migrations.schema_version(db) == migrations.SCHEMA_VERSION
    # captures of a v1 archive were processed when stored: none waits now
    assert db.execute("select count(*) from captures where processed_at is null").fetchone()[0] == 0
    # the search index was rebuilt from the v1 articles
    assert len(search_ids(db, "农业")) == 1 and len(search_ids(db, "项目")) >= 1
    assert migrations.migrate(db) == []  # idempotent
    db.close()


def test_read_only_command_never_migrates_an_old_archive(tmp_path):
    db = build_v1(tmp_path / "v1.db")
    before = digest(db)
    result = govbrief("export-warc", "--db", str(db), "--out", str(tmp_path / "out.warc.gz"))
    assert result.returncode == 0, result.stderr
    assert "2 captures" in result.stdout
    assert digest(db) == before and user_version(db) == 1


def test_writer_command_migrates_an_old_archive_instead_of_failing(tmp_path):
    db = build_v1(tmp_path / "v1.db")
    result = govbrief("process", "--db", str(db), "--workers", "0")
    assert result.returncode == 0, result.stderr
    assert "processed 0 captures" in result.stdout  # nothing waited: v1 processed inline
    assert user_version(db) == migrations.SCHEMA_VERSION
    result = govbrief("reextract", "--db", str(db), "--workers", "0")
    assert result.returncode == 0, result.stderr
    assert "re-extracted 2 articles" in result.stdout and "0 changed" in result.stdout


def test_an_archive_newer_than_the_code_is_refused_by_readers_and_writers(tmp_path):
    db = build_v1(tmp_path / "v1.db")
    conn = sqlite3.connect(db)
    conn.execute(f"pragma user_version = {migrations.SCHEMA_VERSION + 1}")
    conn.close()
    before = digest(db)
    for args in (["export-warc", "--db", str(db), "--out", str(tmp_path / "x.warc.gz")],
                 ["process", "--db", str(db)]):
        result = govbrief(*args)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert "newer than this govbrief knows" in result.stderr, result.stderr
    assert digest(db) == before


@pytest.mark.parametrize("number", [m.number for m in migrations.MIGRATIONS])
def test_migrations_are_numbered_in_order(number):
    numbers = [m.number for m in migrations.MIGRATIONS]
    assert numbers == sorted(set(numbers)) and numbers[0] == 1
    assert number in numbers


def test_creating_an_archive_loads_no_extractor(tmp_path):
    """Every crawl and every command opens (and, the first time, creates) the archive before anything
    else: the schema steps live apart from extraction, so this costs no extractor libraries, no place
    table and no fold table (they load in the processes that use them)."""
    script = (
        "import sys, sqlite_utils\n"
        "from pipelines.store import migrations, storage\n"
        f"db = storage.open_db({str(tmp_path / 'archive.db')!r})\n"
        "migrations.ensure_schema(db)\n"
        "from pipelines.facts.places import _table\n"
        "from pipelines.search.search_index import fold_table\n"
        "print(sorted(m for m in ('trafilatura', 'cn2an', 'opencc', 'htmldate', 'scipy') if m in sys.modules),\n"
        "      _table.cache_info().currsize, fold_table.cache_info().currsize)\n"
    )
    assert fresh_interpreter(script) == ["[]", "0", "0"]
    assert user_version(tmp_path / "archive.db") == migrations.SCHEMA_VERSION


def test_a_new_archive_is_made_in_one_transaction(tmp_path):
    """Every migration, the version and the search index of a new archive: one commit (before, one per
    migration: ~20 of a first crawl's commits)."""
    path = tmp_path / "archive.db"
    db = storage.open_db(path)
    statements: list[str] = []
    db.conn.set_trace_callback(statements.append)
    migrations.ensure_schema(db)
    db.conn.set_trace_callback(None)
    assert [s for s in statements if s.startswith("COMMIT")] == ["COMMIT"]
    assert user_version(path) == migrations.SCHEMA_VERSION
    assert {"articles", "captures", "crawl_frontier", "articles_search"} <= set(db.table_names())
    db.close()


def test_a_new_archive_the_disk_cannot_hold_is_left_empty_and_made_by_the_next_run(tmp_path):
    """The disk fills while a new archive is made (SQLite's page limit: the same SQLITE_FULL): nothing of
    it stays, not a schema half made at some version, and the next run makes it whole."""
    path = tmp_path / "archive.db"
    db = storage.open_db(path)
    db.execute("PRAGMA max_page_count = 40")  # the schema needs ~85 pages
    with pytest.raises(sqlite3.OperationalError, match="full"):
        migrations.ensure_schema(db)
    db.close()
    conn = sqlite3.connect(path)
    assert conn.execute("select name from sqlite_master").fetchall() == []
    conn.close()
    assert user_version(path) == 0
    db = storage.open_db(path)
    migrations.ensure_schema(db)
    db.close()
    assert user_version(path) == migrations.SCHEMA_VERSION


def test_migration_62_makes_a_changed_date_re_cluster_the_article(tmp_path):
    """An archive at 61 has the trigger that watched title and text only; after 62 a changed
    publication date or 来源 of an indexed article marks it for lineage too (the canonical copy)."""
    db = storage.open_db(build_v1(tmp_path / "v1.db"))
    for migration in migrations.MIGRATIONS:
        if migration.number <= 61:
            with db.conn:
                migration.apply(db)
                db.execute(f"PRAGMA user_version = {migration.number}")
    with db.conn:  # the trigger as 61 left it
        db.execute("DROP TRIGGER lineage_dirty_au")
        db.execute("""CREATE TRIGGER lineage_dirty_au AFTER UPDATE OF title, text, text_simplified ON articles
            WHEN old.title IS NOT new.title OR old.text IS NOT new.text
                 OR old.text_simplified IS NOT new.text_simplified BEGIN
              INSERT OR IGNORE INTO lineage_dirty(article_id) SELECT new.id
                WHERE EXISTS (SELECT 1 FROM lineage_docs WHERE article_id = new.id); END""")
        article_id = db.execute("select min(id) from articles").fetchone()[0]
        db.execute("insert into lineage_docs (article_id, n_shingles, n_fps) values (?, 1, 0)", [article_id])
        db.execute("update articles set published = '2020-01-01' where id = ?", [article_id])
    assert db.execute("select count(*) from lineage_dirty").fetchone()[0] == 0
    assert migrations.migrate(db) == [62]
    with db.conn:
        db.execute("update articles set source_org = '某某日报' where id = ?", [article_id])
    assert [r[0] for r in db.execute("select article_id from lineage_dirty")] == [article_id]
