"""archive.db: the one place that knows the schema. Every write goes through sqlite-utils.

Tables
  sources       the registry as last loaded (one row per source id)
  captures      raw HTTP responses as evidence: gzip body, headers, status, final URL, fetch time, sha256
  articles      one row per article URL, extracted from its latest capture
  crawl_runs    one row per `govbrief crawl` run: times, counts, exit status
  fetch_errors  failed requests per run with the reason, so a later run can retry them
"""

from __future__ import annotations

import gzip
import hashlib
import json
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import sqlite_utils

SCHEMA_VERSION = 1


def utc_now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


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

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()


def open_db(path: str | Path, *, create: bool = True) -> sqlite_utils.Database:
    """Open (and by default create) an archive with WAL and a busy timeout for concurrent readers."""
    path = Path(path)
    if not create and not path.exists():
        raise FileNotFoundError(f"archive database not found: {path}")
    if create:
        path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), timeout=30)
    db = sqlite_utils.Database(conn)
    db.execute("PRAGMA busy_timeout = 30000")
    db.enable_wal()
    db.execute("PRAGMA synchronous = NORMAL")
    return db


def ensure_schema(db: sqlite_utils.Database) -> None:
    """Create or upgrade every table, index and search structure. Idempotent."""
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
    db["captures"].create_index(["url"], if_not_exists=True)
    db["captures"].create_index(["sha256"], if_not_exists=True)
    db["articles"].create_index(["url"], unique=True, if_not_exists=True)
    db["articles"].create_index(["source_id", "published"], if_not_exists=True)
    db["articles"].create_index(["published"], if_not_exists=True)
    db["fetch_errors"].create_index(["url"], if_not_exists=True)
    db["fetch_errors"].create_index(["run_id"], if_not_exists=True)
    _ensure_extensions(db)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


# Feature modules own their tables; ensure_schema stays the one entry point that creates everything.
_SCHEMA_EXTENSIONS = (
    ("pipelines.search_index", "ensure_search_schema"),  # Chinese full-text search
    ("pipelines.boilerplate", "ensure_boilerplate_schema"),  # per-host learned boilerplate lines
    ("pipelines.recheck", "ensure_recheck_schema"),  # versions, deletions, recheck schedule
    ("pipelines.lineage", "ensure_lineage_schema"),  # repost clusters
)


def _ensure_extensions(db: sqlite_utils.Database) -> None:
    import importlib

    for module_name, function in _SCHEMA_EXTENSIONS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        getattr(module, function)(db)


def _reindex(db: sqlite_utils.Database, article_id: int) -> None:
    try:
        from pipelines import search_index
    except ImportError:
        return
    search_index.index_article(db, article_id)


# ---------------------------------------------------------------- sources


def upsert_sources(db: sqlite_utils.Database, sources: Iterable[Any]) -> None:
    now = utc_now()
    rows = [
        {"id": s.id, "name": s.name, "region": s.region, "start_urls": json.dumps(s.start_urls),
         "config": json.dumps(s.as_dict(), ensure_ascii=False), "updated_at": now}
        for s in sources
    ]
    if rows:
        db["sources"].upsert_all(rows, pk="id")


# ---------------------------------------------------------------- captures


def insert_capture(db: sqlite_utils.Database, capture: Capture, run_id: int | None = None) -> int:
    """Store one response (gzip-compressed body) and return its id. Captures are never updated."""
    row = {
        "url": capture.url, "final_url": capture.final_url, "status": capture.status,
        "headers": json.dumps(capture.headers, ensure_ascii=False), "content_type": capture.content_type,
        "body": gzip.compress(capture.body, compresslevel=6, mtime=0), "body_encoding": "gzip",
        "body_size": len(capture.body), "sha256": capture.sha256, "fetched_at": capture.fetched_at,
        "source_id": capture.source_id, "run_id": run_id,
    }
    return db["captures"].insert(row).last_pk


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
    if source_id is None:
        return {r["url"] for r in db.query("select url from articles")}
    return {r["url"] for r in db.query("select url from articles where source_id = ?", [source_id])}


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
    }


def upsert_article(db: sqlite_utils.Database, row: dict) -> tuple[int, bool]:
    """Insert or update the article with this URL; returns (id, created). Keeps first_fetched."""
    with db.conn:
        existing = next(db.query("select id, first_fetched from articles where url = ?", [row["url"]]), None)
        if existing:
            db["articles"].update(existing["id"], row)
            article_id, created = existing["id"], False
        else:
            article_id = db["articles"].insert({**row, "first_fetched": row["fetched_at"]}).last_pk
            created = True
        _reindex(db, article_id)
    return article_id, created


# ---------------------------------------------------------------- crawl runs and errors


def start_run(db: sqlite_utils.Database, source_ids: list[str]) -> int:
    return db["crawl_runs"].insert(
        {"started_at": utc_now(), "sources": json.dumps(source_ids), "status": "running"}
    ).last_pk


def finish_run(db: sqlite_utils.Database, run_id: int, **fields: Any) -> None:
    fields = {k: (json.dumps(v, ensure_ascii=False, default=str) if isinstance(v, dict | list) else v)
              for k, v in fields.items()}
    db["crawl_runs"].update(run_id, {"finished_at": utc_now(), **fields})


def record_fetch_errors(db: sqlite_utils.Database, run_id: int | None, errors: Iterable[dict]) -> None:
    """Failed requests of a run: dicts with source_id, url, kind, reason, status."""
    now = utc_now()
    rows = [{"run_id": run_id, "at": now, **e} for e in errors]
    if rows:
        with db.conn:
            db["fetch_errors"].insert_all(rows)


def failed_urls(db: sqlite_utils.Database, source_id: str, kind: str = "article") -> set[str]:
    """URLs that failed before and are not archived yet: a later run retries them."""
    sql = """select distinct url from fetch_errors where source_id = ? and kind = ?
             and url not in (select url from articles)"""
    return {r["url"] for r in db.query(sql, [source_id, kind])}
