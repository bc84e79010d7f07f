"""archive.db: the one place that knows the schema. Every write goes through sqlite-utils.

Tables
  sources       the registry as last loaded (one row per source id)
  captures      raw HTTP responses as evidence: gzip body, headers, status, final URL, fetch time, sha256
  articles      one row per article URL, extracted from its latest capture
  crawl_runs    one row per `govbrief crawl` run: times, counts, exit status
  fetch_errors  failed requests per run with the reason, so a later run can retry them
  crawl_frontier every list page, article, sitemap, attachment to visit, with its state (pipelines/store/frontier.py)
"""

from __future__ import annotations

import atexit
import functools
import gzip
import hashlib
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import sqlite_utils
from sqlite_utils.db import DescIndex, jsonify_if_needed


def utc_now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


# gzip level of stored bodies. 3, not zlib's default 6: on real-dev's and the bench's 45 KB pages 0.30
# against 0.52-0.55 ms of CPU a page (a quarter of bare Scrapy's cost of fetching one) for 8.5 % more
# bytes (compressed to 24.5 % of the page instead of 22.6 %); any level reads back the same.
BODY_GZIP_LEVEL = 3


def gzip_body(body: bytes) -> bytes:
    """A body as captures keep it (body_encoding 'gzip'); no timestamp, so the same bytes compress the same."""
    return gzip.compress(body, compresslevel=BODY_GZIP_LEVEL, mtime=0)


@dataclass
class Capture:
    """One HTTP response as fetched: the evidence an article is extracted from."""

    url: str  # the URL we asked for
    final_url: str  # after redirects
    status: int
    headers: dict[str, str]
    body: bytes  # uncompressed, exactly as received (after transfer/content decoding)
    fetched_at: str
    source_id: str | None = None

    @property
    def content_type(self) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == "content-type":
                return value
        return None

    @functools.cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()

    @functools.cached_property
    def stored_body(self) -> bytes:
        """The body as the captures table keeps it (body_encoding 'gzip')."""
        return gzip_body(self.body)

    def prepare(self) -> None:
        """Compute what storing this capture costs in CPU (its digest, its compressed body) now, ahead of
        the transaction that stores it: the crawl's archive writer does this for a batch before it takes
        the archive's write lock (pipelines/store/batch.py, `prepare`)."""
        self.sha256, self.stored_body  # noqa: B018 (computed and cached)


class ArchiveConnection(sqlite3.Connection):
    """A sqlite3 connection whose `with conn:` blocks nest.

    sqlite3's own `with conn:` commits at the end of EVERY block, so a batch writer wrapping fifty
    `upsert_article` calls (each its own `with db.conn:`) would still commit fifty times. Here only
    the outermost block is the transaction (BEGIN ... COMMIT, counted in `commits`); an inner block
    is a SAVEPOINT, so an error inside it undoes just that block and the caller decides whether the
    batch goes on. sqlite-utils' own `atomic()` already nests this way."""

    commits = 0  # transactions committed through `with conn:` in this process (benchmarks report it)
    # IMMEDIATE: take the write lock at BEGIN, waiting (busy_timeout) for another writer to finish.
    # A deferred transaction that read first and writes later fails at once with "database is
    # locked" when another connection (the crawl's other writer thread) committed in between.
    begin = "BEGIN IMMEDIATE"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._depth = 0

    def __enter__(self) -> ArchiveConnection:
        if self._depth == 0:
            if not self.in_transaction:
                self.execute(self.begin)
        else:
            self.execute(f"SAVEPOINT nested_{self._depth}")
        self._depth += 1
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool:
        self._depth -= 1
        if self._depth > 0:
            name = f"nested_{self._depth}"
            if self.in_transaction:  # an error may have ended the whole transaction already
                if exc_type is not None:
                    self.execute(f"ROLLBACK TO {name}")
                self.execute(f"RELEASE {name}")
            return False
        if exc_type is None:
            self.commit()
            ArchiveConnection.commits += 1
        else:
            self.rollback()
        return False


_COMMITS = {"n": 0}


def _count_commit(statement: str) -> None:
    """Benchmarks (GOVBRIEF_COUNT_COMMITS=FILE): count every COMMIT this process sends to SQLite,
    whoever sends it (sqlite3, sqlite-utils), and append '<pid> <count>' to FILE at exit."""
    if statement.startswith("COMMIT"):
        if _COMMITS["n"] == 0:
            atexit.register(_report_commits)
        _COMMITS["n"] += 1


def _report_commits() -> None:
    with open(os.environ["GOVBRIEF_COUNT_COMMITS"], "a", encoding="utf-8") as out:
        out.write(f"{os.getpid()} {_COMMITS['n']}\n")


def open_db(path: str | Path, *, create: bool = True, read_only: bool = False,
            immutable: bool = False, batches: bool = False) -> sqlite_utils.Database:
    """Open (and by default create) an archive with WAL and a busy timeout for concurrent readers.

    read_only: for commands that only read (export-warc, serve, lineage queries): the file is opened
    with mode=ro, so nothing (no migration, no index rebuild) can write to it.
    immutable: read-only for a file nobody writes (a read-only mount or directory): a WAL reader
    would otherwise need to create the -shm file beside it, which such a place refuses.
    batches: a connection that writes batches of savepoints (the capture writer, processing's writer,
    lineage steps). SQLite keeps what a savepoint changed in a statement journal, moved to a temporary
    file once past 64 KiB: created, written and deleted again for nearly every article (a crawl of
    2,000 articles wrote ~300 MB to /var/tmp that way, 160,000 of its 224,000 page writes). Here it
    stays in memory (temp_store), bounded by what one batch touches. Not for migrations: an index
    built over a large table would then sort in memory too."""
    path = Path(path)
    if (read_only or immutable or not create) and not path.exists():
        raise FileNotFoundError(f"archive database not found: {path}")
    if read_only or immutable:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?{'immutable=1' if immutable else 'mode=ro'}",
                               uri=True, timeout=30, factory=ArchiveConnection)
        conn.begin = "BEGIN"
        db = sqlite_utils.Database(conn)
        db.execute("PRAGMA busy_timeout = 30000")
        return db
    if create:
        path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), timeout=30, factory=ArchiveConnection)
    if os.environ.get("GOVBRIEF_COUNT_COMMITS"):
        conn.set_trace_callback(_count_commit)
    db = sqlite_utils.Database(conn)
    db.execute("PRAGMA busy_timeout = 30000")
    db.enable_wal()
    db.execute("PRAGMA synchronous = NORMAL")
    if batches:
        db.execute("PRAGMA temp_store = MEMORY")
    return db


def create_baseline_schema(db: sqlite_utils.Database) -> None:
    """Migration 1: the schema as it stood before numbered migrations (every archive made by
    govbrief 0.1 has user_version 1 and all of this). Idempotent, so it is also safe on such archives."""
    db["sources"].create(
        {"id": str, "name": str, "region": str, "start_urls": str, "config": str, "updated_at": str},
        pk="id", if_not_exists=True,
    )
    db["captures"].create(
        {"id": int, "url": str, "final_url": str, "status": int, "headers": str, "content_type": str,
         "body": bytes, "body_encoding": str, "body_size": int, "sha256": str, "fetched_at": str,
         "source_id": str, "run_id": int},
        pk="id", if_not_exists=True,
    )
    db["articles"].create(
        {"id": int, "url": str, "host": str, "source_id": str, "region": str, "title": str, "text": str,
         "published": str, "published_year": int, "published_month": str, "published_source": str,
         "source_org": str, "author": str, "editor": str, "script": str, "language": str,
         "title_simplified": str, "text_simplified": str, "text_length": int, "capture_id": int,
         "first_fetched": str, "fetched_at": str, "extracted_at": str, "extractor_version": str},
        pk="id", if_not_exists=True,
    )
    db["crawl_runs"].create(
        {"id": int, "started_at": str, "finished_at": str, "sources": str, "status": str,
         "exit_status": int, "pages_fetched": int, "list_pages": int, "articles_new": int,
         "articles_known": int, "errors": int, "message": str, "stats": str},
        pk="id", if_not_exists=True,
    )
    db["fetch_errors"].create(
        {"id": int, "run_id": int, "source_id": str, "url": str, "kind": str, "reason": str,
         "status": int, "at": str},
        pk="id", if_not_exists=True,
    )
    # What a run scheduled but may not have finished (see frontier_pending): survives kill -9.
    db["crawl_frontier"].create(
        {"source_id": str, "url": str, "kind": str, "depth": int, "added_at": str},
        pk=("source_id", "url"), if_not_exists=True,
    )
    db["captures"].create_index(["url"], if_not_exists=True)
    db["captures"].create_index(["sha256"], if_not_exists=True)
    db["articles"].create_index(["url"], unique=True, if_not_exists=True)
    db["articles"].create_index(["source_id", "published"], if_not_exists=True)
    db["articles"].create_index(["published"], if_not_exists=True)
    # Newest-first pages need articles with the same date in ascending id order: Datasette 0.65
    # orders the first page of `sort_desc: published` by `published desc` only, and later pages by
    # `published desc, id` with `id > last`. Scanning an ascending index backwards returns equal
    # dates in descending id order, so rows were skipped between pages; forward over a DESC index,
    # equal dates come in ascending rowid order on every page.
    db["articles"].create_index([DescIndex("published")], index_name="idx_articles_published_desc",
                                if_not_exists=True)
    # Facets of a frequent search group its hits by these columns: with an index SQLite counts from
    # the index (a membership test on its rowids) instead of reading every article row. source_id
    # is covered by (source_id, published); (region, published desc) also serves newest_by_region.
    for column in ("published_year", "published_month", "script"):
        db["articles"].create_index([column], index_name=f"idx_articles_{column}", if_not_exists=True)
    db["articles"].create_index(["region", DescIndex("published")], index_name="idx_articles_region_published",
                                if_not_exists=True)
    db["fetch_errors"].create_index(["url"], if_not_exists=True)
    db["fetch_errors"].create_index(["run_id"], if_not_exists=True)


def _reindex(db: sqlite_utils.Database, article_id: int) -> None:
    try:
        from pipelines.search import search_index
    except ImportError:
        return
    search_index.index_article(db, article_id)


# ---------------------------------------------------------------- sources


def upsert_sources(db: sqlite_utils.Database, sources: Iterable[Any]) -> None:
    """The registry as loaded, with the region as administrative levels and the source type (given,
    else inferred from the URLs) so the archive can be filtered by place and kind of publisher.

    A region already resolved for the same source with the same text keeps its levels: resolving
    loads the national place table (~0.3 s at every crawl start otherwise). A change of the place
    table that alters resolutions comes with a migration re-resolving every source (as 50 did)."""
    from pipelines.places.regions import COLUMNS, resolve_region
    from pipelines.urls import infer_source_type

    known = {}
    if db["sources"].exists() and set(COLUMNS) <= set(db["sources"].columns_dict):
        levels = ", ".join(f"[{column}]" for column in COLUMNS)
        known = {(row["id"], row["region"]): {column: row[column] for column in COLUMNS}
                 for row in db.query(f"select id, region, {levels} from sources")}
    now = utc_now()
    rows = [
        {"id": s.id, "name": s.name, "region": s.region, "start_urls": json.dumps(s.start_urls),
         "config": json.dumps(s.as_dict(), ensure_ascii=False), "updated_at": now,
         **(known.get((s.id, s.region)) or resolve_region(s.region).as_row()),
         "source_type": getattr(s, "source_type", None) or infer_source_type(s.start_urls)}
        for s in sources
    ]
    if rows:
        db["sources"].upsert_all(rows, pk="id")


# ---------------------------------------------------------------- captures


# Kinds of capture that wait for processing (the workers): an article page, an attachment's file.
KINDS_TO_PROCESS = ("article", "attachment")


def insert_capture(db: sqlite_utils.Database, capture: Capture, run_id: int | None = None, *,
                   kind: str | None = None, waits: bool | None = None) -> int:
    """Store one response (gzip-compressed body) and return its id. Captures are never updated,
    except for `processed_at`, which processing sets (pipelines/process).

    kind: 'article' / 'attachment' = waits for processing (processed_at stays NULL until its article,
    or the attachment's text, was written from it); None / 'part' = stored by a step that needs no
    processing of it (re-checks, the later pages of an article). waits=False: processed already."""
    if waits is None:
        waits = kind in KINDS_TO_PROCESS
    row = {
        "url": capture.url, "final_url": capture.final_url, "status": capture.status,
        "headers": json.dumps(capture.headers, ensure_ascii=False), "content_type": capture.content_type,
        "body": capture.stored_body, "body_encoding": "gzip",
        "body_size": len(capture.body), "sha256": capture.sha256, "fetched_at": capture.fetched_at,
        "source_id": capture.source_id, "run_id": run_id, "kind": kind,
        "processed_at": None if waits else utc_now(),
    }
    return insert_row(db, "captures", row)


# ---------------------------------------------------------------- rows on the hot path
# sqlite-utils' Table.insert / Table.update read sqlite_master on every call (does the table exist?
# which columns?): in the crawl's writers that was a third of the time spent per article (profile in
# docs/architecture.md). The tables exist (migrations made them), so the per-article writes are plain
# parameterised statements, values converted the way sqlite-utils converts them.


@functools.lru_cache(maxsize=256)
def _insert_sql(table: str, columns: tuple[str, ...]) -> str:
    return (f"INSERT INTO [{table}] ({', '.join(f'[{c}]' for c in columns)}) "
            f"VALUES ({', '.join('?' * len(columns))})")


@functools.lru_cache(maxsize=256)
def _update_sql(table: str, columns: tuple[str, ...], key: str) -> str:
    return f"UPDATE [{table}] SET {', '.join(f'[{c}] = ?' for c in columns)} WHERE [{key}] = ?"


def _execute_write(db: sqlite_utils.Database, sql: str, params: Any, *, many: bool = False) -> sqlite3.Cursor:
    """Run one write (many=True: executemany over `params`) the way sqlite-utils does: committed at once
    when no `with db.conn:` block is open (its own transaction), part of the caller's transaction inside
    one (a failing statement undoes itself, so no savepoint is needed per row)."""
    conn = db.conn
    run = conn.executemany if many else conn.execute
    if getattr(conn, "_depth", 0) > 0:
        return run(sql, params)
    with conn:
        return run(sql, params)


_STORED_AS_IS = frozenset({str, int, float, bytes, type(None)})


def _values(row: dict[str, Any], columns: tuple[str, ...]) -> list[Any]:
    """Column values as sqlite-utils stores them (dicts, lists, dates as JSON / ISO text; None for a
    column the row lacks); the plain types that make up almost every value skip its per-value checks
    (a tenth of the writer's time)."""
    return [v if type(v) in _STORED_AS_IS else jsonify_if_needed(v) for v in map(row.get, columns)]


def insert_row(db: sqlite_utils.Database, table: str, row: dict[str, Any]) -> int:
    """INSERT one row into an existing table; returns its rowid (sqlite-utils' `insert(row).last_pk`)."""
    columns = tuple(row)
    return _execute_write(db, _insert_sql(table, columns), _values(row, columns)).lastrowid


def insert_rows(db: sqlite_utils.Database, table: str, columns: tuple[str, ...], rows: list[dict[str, Any]]) -> None:
    """INSERT many rows into an existing table in one executemany, each row's value of every column
    (None where the row has none). Inside the caller's transaction, like insert_row."""
    if rows:
        _execute_write(db, _insert_sql(table, columns), (_values(row, columns) for row in rows), many=True)


def update_row(db: sqlite_utils.Database, table: str, key_value: Any, row: dict[str, Any], key: str = "id") -> None:
    """UPDATE the row whose `key` is key_value (sqlite-utils' `table.update(key_value, row)`)."""
    columns = tuple(row)
    _execute_write(db, _update_sql(table, columns, key), [*_values(row, columns), key_value])


def load_capture(row: dict) -> Capture:
    body = row["body"] or b""
    if row.get("body_encoding") == "gzip":
        body = gzip.decompress(body)
    return Capture(url=row["url"], final_url=row["final_url"] or row["url"], status=row["status"],
                   headers=json.loads(row["headers"] or "{}"), body=body, fetched_at=row["fetched_at"],
                   source_id=row["source_id"])


def iter_article_captures(db: sqlite_utils.Database) -> Iterator[tuple[int, Capture]]:
    """The latest capture of every archived article, for re-extraction without network."""
    sql = """select c.* from articles a join captures c on c.id = a.capture_id order by a.id"""
    for row in db.query(sql):
        yield row["id"], load_capture(row)


# ---------------------------------------------------------------- articles


def known_article_urls(db: sqlite_utils.Database, source_id: str | None = None) -> set[str]:
    """URLs never to fetch again: archived articles, and article captures still waiting for
    processing (a capture that gave no article is not known: failed_urls retries it)."""
    where, params = ("", []) if source_id is None else (" where source_id = ?", [source_id])
    pending = " and " if where else " where "
    sql = (f"select url from articles{where} union select url from captures{where}{pending}"
           "kind = 'article' and processed_at is null")
    return {r["url"] for r in db.query(sql, params * 2)}


def article_row(article: Any, *, source_id: str | None, region: str | None, capture_id: int | None,
                fetched_at: str) -> dict:
    data = article.as_dict() if hasattr(article, "as_dict") else dict(article)
    published = data.get("published")
    return {
        "url": data["url"], "host": urlsplit(data["url"]).netloc.lower(), "source_id": source_id,
        "region": region, "title": data.get("title"), "text": data.get("text"),
        "published": published, "published_year": int(published[:4]) if published else None,
        "published_month": published[:7] if published else None,
        "published_source": data.get("published_source"), "source_org": data.get("source_org"),
        "author": data.get("author"), "editor": data.get("editor"), "script": data.get("script"),
        "language": data.get("language"), "title_simplified": data.get("title_simplified"),
        "text_simplified": data.get("text_simplified"), "text_length": len(data.get("text") or ""),
        "capture_id": capture_id, "fetched_at": fetched_at, "extracted_at": utc_now(),
        "extractor_version": data.get("extractor_version"),
        # migration 20 (pipelines/extract/archive_schema.py)
        "doc_number": data.get("doc_number"), "index_no": data.get("index_no"),
        "issuing_org": data.get("issuing_org"), "written_date": data.get("written_date"),
        "extraction": json.dumps(data["provenance"], ensure_ascii=False) if data.get("provenance") else None,
    }


def upsert_article(db: sqlite_utils.Database, row: dict, *, index: bool = True) -> tuple[int, bool]:
    """Insert or update the article with this URL; returns (id, created). Keeps first_fetched.
    index=False: the search index is brought up to date by the caller, later in its transaction
    (search_index.index_rows; the row waits in articles_search_pending until then)."""
    with db.conn:
        existing = db.execute("select id from articles where url = ?", [row["url"]]).fetchone()
        if existing:
            update_row(db, "articles", existing[0], row)
            article_id, created = existing[0], False
        else:
            article_id = insert_row(db, "articles", {**row, "first_fetched": row["fetched_at"]})
            created = True
        if index:
            _reindex(db, article_id)
    return article_id, created


# ---------------------------------------------------------------- crawl runs and errors


def start_run(db: sqlite_utils.Database, source_ids: list[str], **fields: Any) -> int:
    return db["crawl_runs"].insert(
        {"started_at": utc_now(), "sources": json.dumps(source_ids), "status": "running", **fields}
    ).last_pk


def finish_run(db: sqlite_utils.Database, run_id: int, **fields: Any) -> None:
    fields = {k: (json.dumps(v, ensure_ascii=False, default=str) if isinstance(v, dict | list) else v)
              for k, v in fields.items()}
    db["crawl_runs"].update(run_id, {"finished_at": utc_now(), **fields})


# What a fetch_errors row is (column `category`, migration 11): the run counters are computed from it,
# so crawl_runs and fetch_errors always agree.
ERROR_CATEGORIES = ("new", "known_dead", "refused", "no_article")


def migrate_error_categories(db: sqlite_utils.Database) -> None:
    """Migration 11: fetch_errors.category; crawl_runs counts per category and skipped pages."""
    if "category" not in db["fetch_errors"].columns_dict:
        db.execute("ALTER TABLE fetch_errors ADD COLUMN category TEXT")
        db.execute("""update fetch_errors set category = case when reason like 'refused:%' then 'refused'
                      when reason like 'no article text%' then 'no_article' else 'new' end""")
    columns = db["crawl_runs"].columns_dict
    for name in ("new_failures", "known_dead_failures", "refused", "no_article", "skipped"):
        if name not in columns:
            db.execute(f"ALTER TABLE crawl_runs ADD COLUMN [{name}] INTEGER")
    db["fetch_errors"].create_index(["run_id", "category"], if_not_exists=True)


def run_error_counts(db: sqlite_utils.Database, run_id: int) -> dict[str, int]:
    """fetch_errors of one run by category (rows written without one count as new failures)."""
    counts = dict.fromkeys(ERROR_CATEGORIES, 0)
    for category, n in db.execute("select coalesce(category, 'new'), count(*) from fetch_errors where run_id = ?"
                                  " group by 1", [run_id]).fetchall():
        counts[category] = counts.get(category, 0) + n
    return counts


def record_fetch_errors(db: sqlite_utils.Database, run_id: int | None, errors: Iterable[dict]) -> None:
    """Failed requests of a run: dicts with source_id, url, kind, reason, status."""
    now = utc_now()
    rows = [{"run_id": run_id, "at": now, **e} for e in errors]
    if rows:
        with db.conn:
            db["fetch_errors"].insert_all(rows)


def close_interrupted_runs(db: sqlite_utils.Database, message: str) -> int:
    """Mark runs left 'running' (the process was killed) as interrupted; call it holding the run lock."""
    with db.conn:
        cursor = db.execute(
            "update crawl_runs set status = 'interrupted', exit_status = 1, finished_at = ?, message = ?"
            " where status = 'running' and finished_at is null", [utc_now(), message])
    return cursor.rowcount


# ---------------------------------------------------------------- integrity


def fts_tables(db: sqlite_utils.Database) -> list[str]:
    return [r["name"] for r in db.query(
        "select name from sqlite_master where type = 'table' and lower(sql) like '%using fts5%'")]


def integrity_problems(db: sqlite_utils.Database, *, quick: bool = True) -> list[str]:
    """[] when the file and every FTS5 index are consistent, else what is wrong.

    quick=True runs PRAGMA quick_check (no index-content cross-check, O(pages)): cheap enough
    for the start of every cron run; the tests and benchmarks use the full integrity_check."""
    pragma = "quick_check" if quick else "integrity_check"
    problems = [row[0] for row in db.execute(f"PRAGMA {pragma}").fetchall() if row[0] != "ok"]
    for table in fts_tables(db):
        try:
            with db.conn:  # the check is written as an INSERT: end the implicit transaction it opens
                db.execute(f"INSERT INTO [{table}]([{table}]) VALUES('integrity-check')")
        except sqlite3.DatabaseError as exc:
            if "malformed" not in str(exc) and "corrupt" not in str(exc):
                raise  # read-only file, full disk, locked: not a verdict on the index, the caller says what
            problems.append(f"full-text index {table}: {exc}")
    return problems


def is_storage_failure(exc: BaseException) -> bool:
    """True for errors of the archive itself (disk full, I/O, read-only, corrupt, locked), after which
    no further write can be trusted to succeed; False for a bad row or a bug in one page's data."""
    return isinstance(exc, sqlite3.OperationalError | sqlite3.DatabaseError) and not isinstance(
        exc, sqlite3.IntegrityError | sqlite3.ProgrammingError | sqlite3.DataError | sqlite3.InterfaceError)
