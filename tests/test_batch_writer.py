"""The crawl's ordered, batched archive writer (pipelines/store/batch.py) on a real SQLite file."""

from __future__ import annotations

import functools
import gzip
import sqlite3

from pipelines.store import frontier, migrations, storage
from pipelines.store.batch import BatchWriter
from pipelines.store.storage import Capture


def capture(n: int) -> Capture:
    url = f"http://a.gov.cn/202401/t20240101_{n}.html"
    return Capture(url=url, final_url=url, status=200, headers={"Content-Type": "text/html"},
                   body=f"<p>第{n}篇</p>".encode("gbk"), fetched_at="2026-01-01T00:00:00Z", source_id="a")


def store(db, c: Capture) -> int:
    return storage.insert_capture(db, c, run_id=1, kind="article")


def fresh_archive(tmp_path):
    path = tmp_path / "archive.db"
    db = storage.open_db(path)
    migrations.ensure_schema(db)
    db.close()
    return path


def refuse(db) -> None:
    db.execute("insert into sources (id) values ('dup')")
    db.execute("insert into sources (id) values ('dup')")  # IntegrityError: this write only is undone


def test_writes_land_in_order_one_transaction_per_50_captures(tmp_path):
    path = fresh_archive(tmp_path)
    committed = []
    writer = BatchWriter(path, on_commit=lambda: committed.append(1)).start()
    for n in range(120):
        writer.submit(store, capture(n), counts=True)
        if n == 60:
            writer.submit(functools.partial(frontier.queue, articles=[capture(999).url]), "a")
            writer.submit(refuse)
    assert writer.close() is None
    conn = sqlite3.connect(path)
    urls = [r[0] for r in conn.execute("select url from captures order by id")]
    assert urls == [capture(n).url for n in range(120)]  # in submission order, each once
    assert conn.execute("select count(*) from crawl_frontier").fetchone()[0] == 1
    assert conn.execute("select count(*) from sources where id = 'dup'").fetchone()[0] == 0
    assert conn.execute("select count(*) from captures where processed_at is null").fetchone()[0] == 120
    assert writer.commits == len(committed) == 3  # 50 + 50 + 20


def test_a_failing_archive_stops_the_writer_and_keeps_what_was_committed(tmp_path):
    path = fresh_archive(tmp_path)
    failures = []
    writer = BatchWriter(path, on_failure=failures.append).start()
    for n in range(50):
        writer.submit(store, capture(n), counts=True)

    def disk_full(db) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    writer.submit(disk_full)
    for n in range(50, 60):
        writer.submit(store, capture(n), counts=True)
    error = writer.close()
    assert isinstance(error, sqlite3.OperationalError) and failures == [error]
    count = sqlite3.connect(path).execute("select count(*) from captures").fetchone()[0]
    assert count == 50  # the first batch committed; the failed one rolled back; later writes dropped


def test_the_writer_keeps_savepoint_journals_in_memory(tmp_path):
    """Every capture is a savepoint: the writer's connection keeps their statement journals out of
    temporary files (storage.open_db batches=True; tests/test_storage.py shows what that saves)."""
    path = fresh_archive(tmp_path)
    seen = []
    writer = BatchWriter(path).start()
    writer.submit(lambda db: db.execute("PRAGMA temp_store").fetchone()[0], then=seen.append)
    assert writer.close() is None
    assert seen == [2]  # MEMORY


def test_prepare_runs_before_the_batch_takes_the_write_lock(tmp_path):
    """A write's CPU work (compressing and hashing a body) is done before its batch's transaction:
    while every prepare of a batch runs, another connection can still take the archive's write lock."""
    path = fresh_archive(tmp_path)
    lock_free = []

    def probe() -> None:
        other = sqlite3.connect(path, timeout=0)
        try:
            other.execute("BEGIN IMMEDIATE")  # fails at once ("database is locked") inside a transaction
            other.execute("ROLLBACK")
            lock_free.append(True)
        except sqlite3.OperationalError:
            lock_free.append(False)
        finally:
            other.close()

    writer = BatchWriter(path, max_items=3).start()
    captures = [capture(n) for n in range(6)]
    for c in captures:
        writer.submit(store, c, counts=True, prepare=lambda c=c: (c.prepare(), probe()))
    assert writer.close() is None
    assert lock_free == [True] * 6
    assert all("stored_body" in vars(c) and "sha256" in vars(c) for c in captures)  # computed ahead
    db = storage.open_db(path)
    assert db.execute("select count(*) from captures").fetchone()[0] == 6


def test_a_failing_prepare_leaves_the_write_to_do_its_own_work(tmp_path):
    path = fresh_archive(tmp_path)

    def broken() -> None:
        raise RuntimeError("no memory for the compressed copy")

    writer = BatchWriter(path).start()
    writer.submit(store, capture(1), counts=True, prepare=broken)
    assert writer.close() is None
    db = storage.open_db(path)
    row = db.execute("select body, sha256 from captures").fetchone()
    assert gzip.decompress(row[0]) == capture(1).body and row[1] == capture(1).sha256
