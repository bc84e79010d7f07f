"""The archive schema and its writes, on a real SQLite file."""

import gzip
import hashlib
import shutil
from pathlib import Path

from pipelines.store import migrations, storage
from pipelines.store.storage import Capture

GBK_PAGE = "<html>正文</html>".encode("gbk")


def make_capture(url="http://a.gov.cn/202301/t20230114_1.html", body=GBK_PAGE):
    return Capture(url=url, final_url=url, status=200, headers={"Content-Type": "text/html; charset=utf-8"},
                   body=body, fetched_at="2026-01-01T00:00:00Z", source_id="a")


def test_ensure_schema_is_idempotent_and_uses_wal(tmp_path):
    db = storage.open_db(tmp_path / "archive.db")
    migrations.ensure_schema(db)
    tables = set(db.table_names())
    migrations.ensure_schema(db)
    assert set(db.table_names()) == tables
    assert {"sources", "captures", "articles", "crawl_runs", "fetch_errors"} <= tables
    assert db.execute("pragma journal_mode").fetchone()[0] == "wal"


def test_capture_keeps_raw_bytes_compressed(tmp_path):
    db = storage.open_db(tmp_path / "archive.db")
    migrations.ensure_schema(db)
    capture = make_capture()
    capture_id = storage.insert_capture(db, capture, run_id=7)
    row = db["captures"].get(capture_id)
    assert gzip.decompress(row["body"]) == capture.body  # GBK stays GBK
    assert row["sha256"] == capture.sha256 and row["content_type"] == "text/html; charset=utf-8"
    assert storage.load_capture(row).body == capture.body


def test_upsert_article_one_row_per_url_keeps_first_fetched(tmp_path):
    db = storage.open_db(tmp_path / "archive.db")
    migrations.ensure_schema(db)
    article = {"url": "http://a.gov.cn/x.html", "title": "标题", "text": "正文一", "published": "2023-01-14"}
    row = storage.article_row(article, source_id="a", region="江苏", capture_id=1, fetched_at="2026-01-01T00:00:00Z")
    first_id, created = storage.upsert_article(db, row)
    assert created and row["published_year"] == 2023 and row["published_month"] == "2023-01"
    row2 = storage.article_row({**article, "text": "正文二"}, source_id="a", region="江苏", capture_id=2,
                               fetched_at="2026-02-01T00:00:00Z")
    second_id, created = storage.upsert_article(db, row2)
    assert (second_id, created) == (first_id, False)
    [stored] = list(db.query("select * from articles"))
    assert stored["text"] == "正文二" and stored["first_fetched"] == "2026-01-01T00:00:00Z"
    assert stored["fetched_at"] == "2026-02-01T00:00:00Z" and stored["host"] == "a.gov.cn"


def test_frontier_list_page_done_with_its_links_and_failures_backed_off(tmp_path):
    from datetime import UTC, datetime

    from pipelines.store import frontier

    db = storage.open_db(tmp_path / "archive.db")
    migrations.ensure_schema(db)
    states = frontier.list_processed(db, "a", "http://a.gov.cn/list.html", articles=["http://a.gov.cn/1.html"],
                                     lists=[frontier.QueuedList("http://a.gov.cn/list_2.html", 0, "pager")])
    assert states == {"http://a.gov.cn/list_2.html": "pending"}
    plan = frontier.plan(db, "a")
    assert plan.articles == ["http://a.gov.cn/1.html"] and [q.url for q in plan.lists] == ["http://a.gov.cn/list_2.html"]
    assert plan.done_lists == {"http://a.gov.cn/list.html"} and not plan.walked
    # a failed list page is never done: transient -> due at the next run; again -> backed off
    assert frontier.mark_failed(db, "a", "http://a.gov.cn/list_2.html", "list", "HTTP 503", permanent=False) == 1
    assert [q.url for q in frontier.plan(db, "a").lists] == ["http://a.gov.cn/list_2.html"]
    frontier.mark_failed(db, "a", "http://a.gov.cn/list_2.html", "list", "HTTP 503", permanent=False)
    assert frontier.plan(db, "a").lists == [] and not frontier.settle_backlog(db, "a")
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert frontier.retry_at(1, permanent=False, now=now) == "2026-01-01T00:00:00Z"
    assert frontier.retry_at(1, permanent=True, now=now) == "2026-01-01T20:00:00Z"
    assert frontier.retry_at(3, permanent=True, now=now) == "2026-01-04T08:00:00Z"
    assert frontier.retry_at(30, permanent=True, now=now) == "2026-01-31T00:00:00Z"  # capped at 30 days
    frontier.list_processed(db, "a", "http://a.gov.cn/list_2.html")
    assert frontier.settle_backlog(db, "a") and frontier.plan(db, "a").walked


def test_a_list_page_queues_its_links_in_statements_that_do_not_grow_with_them(tmp_path):
    """A list page's links (a TRS pager names every page of its column) are queued by a fixed number
    of statement runs, however many: each run gives up the GIL, which in the crawl's writer thread
    waits for Scrapy's reactor. Same rows as before: order, duplicates, known keys, a POSTed page's
    request, a re-read done page; and the states of the list keys after the commit."""
    from pipelines.store import frontier

    db = storage.open_db(tmp_path / "archive.db")
    migrations.ensure_schema(db)

    def runs(url: str, links: int) -> int:
        statements: list[str] = []
        db.conn.set_trace_callback(statements.append)
        frontier.list_processed(db, "a", url, articles=[f"http://a.gov.cn/{k}.html" for k in range(links)],
                                lists=[frontier.QueuedList(f"{url}?page={k}", 1, "pager") for k in range(links)])
        db.conn.set_trace_callback(None)
        return len(statements)

    assert runs("http://a.gov.cn/small.html", 2) == runs("http://a.gov.cn/big.html", 300)

    frontier.list_processed(db, "b", "http://b.gov.cn/index.html")
    form = {"url": "http://b.gov.cn/jpage.jsp", "form": [["startrecord", "1"], ["perpage", "15"]]}
    states = frontier.list_processed(
        db, "b", "http://b.gov.cn/list.html", reread=["http://b.gov.cn/index.html"],
        articles=["http://b.gov.cn/2.html", "http://b.gov.cn/1.html", "http://b.gov.cn/2.html"],
        lists=[frontier.QueuedList("http://b.gov.cn/jpage.jsp#1", 2, "jpage", form),
               frontier.QueuedList("http://b.gov.cn/list.html", 0, "list")])
    assert states == {"http://b.gov.cn/jpage.jsp#1": "pending", "http://b.gov.cn/list.html": "done"}
    plan = frontier.plan(db, "b")
    assert plan.articles == ["http://b.gov.cn/2.html", "http://b.gov.cn/1.html"]
    assert [(q.url, q.depth, q.via, q.request) for q in plan.lists] == [
        ("http://b.gov.cn/index.html", 0, "list", None), ("http://b.gov.cn/jpage.jsp#1", 2, "jpage", form)]
    assert plan.done_lists == {"http://b.gov.cn/list.html"}


def test_row_writes_commit_alone_and_join_an_open_transaction(tmp_path):
    """insert_row / update_row (the hot path's plain statements) keep sqlite-utils' semantics: alone,
    each is committed at once (another connection sees it); inside `with db.conn:` it belongs to
    that transaction and is undone with it."""
    import sqlite3

    path = tmp_path / "archive.db"
    db = storage.open_db(path)
    migrations.ensure_schema(db)
    capture_id = storage.insert_capture(db, make_capture(), run_id=None, kind="article")
    storage.update_row(db, "captures", capture_id, {"processed_at": "2024-01-01T00:00:00Z"})
    other = sqlite3.connect(path)
    assert other.execute("select processed_at from captures where id = ?", [capture_id]).fetchone() == (
        "2024-01-01T00:00:00Z",)
    try:
        with db.conn:
            storage.insert_capture(db, make_capture("http://a.gov.cn/202301/t20230114_2.html"), kind="article")
            raise RuntimeError("the batch fails")
    except RuntimeError:
        pass
    assert other.execute("select count(*) from captures").fetchone() == (1,)
    assert not db.conn.in_transaction
    other.close()
    db.conn.close()


def test_sources_keep_their_resolved_region_until_its_text_changes(tmp_path):
    """Resolving a region loads the national place table; a crawl start reuses the levels already
    stored for the same source and region text, and resolves again when the registry changes it."""
    from crawler.sources import Source

    db = storage.open_db(tmp_path / "archive.db")
    migrations.ensure_schema(db)
    source = Source(id="taixing-gov", name="泰兴市人民政府", region="江苏省泰州市泰兴市",
                    start_urls=["http://www.taixing.gov.cn/xwzx/"])
    storage.upsert_sources(db, [source])
    assert db["sources"].get("taixing-gov")["county_code"] == "321283"
    with db.conn:  # mark the stored resolution: only reuse can keep it
        db.execute("update sources set county = 'kept' where id = 'taixing-gov'")
    storage.upsert_sources(db, [source])
    assert db["sources"].get("taixing-gov")["county"] == "kept"
    moved = Source(id="taixing-gov", name="常州市武进区人民政府", region="江苏省常州市武进区",
                   start_urls=["http://www.taixing.gov.cn/xwzx/"])
    storage.upsert_sources(db, [moved])
    row = db["sources"].get("taixing-gov")
    assert (row["city"], row["county"], row["county_code"]) == ("常州市", "武进区", "320412")


def _bytes_written() -> int:
    """What this process has written through write syscalls so far (Linux /proc/self/io)."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("wchar:"):
            return int(line.split()[1])
    raise AssertionError("no wchar in /proc/self/io")


def test_batch_connections_keep_savepoint_journals_out_of_temp_files(tmp_path):
    """A savepoint that changes more than 64 KiB of existing pages spills its statement journal to a
    temporary file by default; a batches connection keeps it in memory: the same transaction writes
    only its WAL frames."""
    seed = storage.open_db(tmp_path / "seed.db")
    with seed.conn:
        seed.execute("create table t (id integer primary key, body text)")
        seed.conn.executemany("insert into t (body) values (?)", [("a" * 2000,)] * 400)
    seed.close()
    written = {}
    for batches in (False, True):
        path = tmp_path / f"batches-{batches}.db"
        shutil.copy(tmp_path / "seed.db", path)
        db = storage.open_db(path, batches=batches)
        before = _bytes_written()
        with db.conn:
            for k in range(10):  # ten savepoints, each rewriting ~40 rows spread over the table
                with db.conn:
                    db.execute("update t set body = ? where id % 10 = ?", ["b" * 2000, k])
        written[batches] = _bytes_written() - before
        assert db.execute("select count(*) from t where body like 'b%'").fetchone()[0] == 400
        db.close()
    assert written[True] < written[False] / 2, written


def test_a_capture_computes_its_stored_body_and_digest_once(tmp_path):
    capture = make_capture()
    capture.prepare()
    assert gzip.decompress(capture.stored_body) == GBK_PAGE
    assert capture.sha256 == hashlib.sha256(GBK_PAGE).hexdigest()
    capture.body = b"changed after preparing"  # never done; shows insert_capture uses what prepare made
    db = storage.open_db(tmp_path / "a.db")
    migrations.ensure_schema(db)
    capture_id = storage.insert_capture(db, capture, run_id=1, kind="article")
    body, digest = db.execute("select body, sha256 from captures where id = ?", [capture_id]).fetchone()
    assert gzip.decompress(body) == GBK_PAGE and digest == hashlib.sha256(GBK_PAGE).hexdigest()
