"""The processing queue is the captures table itself: a capture waits until `processed_at` is set.

Capture and processing run apart (the crawl stores captures, workers extract them), so a capture
may be stored and not processed yet when a run is killed. The marker is set in the same
transaction as the article written from the capture, so after a kill -9 a capture is either fully
processed or still waiting: the next `govbrief crawl` or `govbrief process` picks it up, and
nothing is lost or written twice.

Columns added to `captures` by migration 2 (`add_processing_state`):
  kind          'article' (waits for processing) | 'recheck' | NULL (archives made before 0.2)
  processed_at  when an article (or the fact that there is none) was written from it; NULL = waiting
and by migration 14 (`migrate_capture_parts`): part_of / part_no, the later pages of a multi-page article.
The schema steps live here, not beside extraction, so that migrating an archive imports no extractor.
"""

from __future__ import annotations

from collections.abc import Iterator

import sqlite_utils

from pipelines.process.tasks import CaptureTask, PartTask
from pipelines.store import storage
from pipelines.store.storage import Capture

CAPTURE_COLUMNS = ("id, url, final_url, status, headers, body, body_encoding, fetched_at, source_id, run_id, kind")


def add_processing_state(db: sqlite_utils.Database) -> None:
    """Migration 2: captures.kind and captures.processed_at, plus the index of waiting captures.

    Every capture of an older archive was processed when it was stored (extraction ran inline), so
    all of them are marked processed, at their fetch time."""
    columns = db["captures"].columns_dict
    if "kind" not in columns:
        db.execute("ALTER TABLE captures ADD COLUMN kind TEXT")
    if "processed_at" not in columns:
        db.execute("ALTER TABLE captures ADD COLUMN processed_at TEXT")
    db.execute("UPDATE captures SET processed_at = coalesce(fetched_at, '') WHERE processed_at IS NULL")
    # partial index: only waiting captures are in it, so it stays tiny however big the archive gets
    db.execute("CREATE INDEX IF NOT EXISTS idx_captures_waiting ON captures (id) WHERE processed_at IS NULL")


def waiting_captures(db: sqlite_utils.Database, after_id: int, limit: int) -> list[dict]:
    """Captures waiting for processing with id > after_id, oldest first."""
    return list(db.query(f"SELECT {CAPTURE_COLUMNS} FROM captures WHERE processed_at IS NULL AND id > ? "
                         "ORDER BY id LIMIT ?", [after_id, limit]))


def count_waiting(db: sqlite_utils.Database) -> int:
    return db.execute("SELECT count(*) FROM captures WHERE processed_at IS NULL").fetchone()[0]


def latest_article_captures(db: sqlite_utils.Database, chunk: int = 200) -> Iterator[dict]:
    """The capture each article was last extracted from, in article id order, `chunk` rows at a
    time (keyset pagination: memory stays flat however big the archive is)."""
    last = 0
    while True:
        rows = list(db.query(
            f"SELECT a.id AS article_id, {', '.join('c.' + c.strip() for c in CAPTURE_COLUMNS.split(','))} "
            "FROM articles a JOIN captures c ON c.id = a.capture_id WHERE a.id > ? ORDER BY a.id LIMIT ?",
            [last, chunk]))
        if not rows:
            return
        last = rows[-1]["article_id"]
        yield from rows


def tasks_of(db: sqlite_utils.Database, rows: list[dict]) -> list[CaptureTask]:
    """Worker tasks for capture rows: with the source's region and the later pages of a multi-page
    article (captures.part_of, migration 14), in page order."""
    if not rows:
        return []
    regions = {r["id"]: r["region"] for r in db.query("select id, region from sources")}
    parts: dict[int, list[PartTask]] = {}
    ids = [row["id"] for row in rows]
    marks = ",".join("?" * len(ids))
    for part in db.query(f"SELECT part_of, url, content_type, body, body_encoding FROM captures"
                         f" WHERE part_of IN ({marks}) ORDER BY part_of, part_no", ids):
        parts.setdefault(part["part_of"], []).append(
            PartTask(part["url"], part["content_type"], part["body"] or b"", part["body_encoding"]))
    return [CaptureTask.from_row(row, region=regions.get(row["source_id"]), parts=tuple(parts.get(row["id"], ())))
            for row in rows]


def mark_processed(db: sqlite_utils.Database, capture_id: int, at: str) -> None:
    db.execute("UPDATE captures SET processed_at = ? WHERE id = ?", [at, capture_id])


def migrate_capture_parts(db: sqlite_utils.Database) -> None:
    """Migration 14: captures.part_of / part_no link the later pages of a multi-page article to its first."""
    columns = db["captures"].columns_dict
    for name in ("part_of", "part_no"):
        if name not in columns:
            db.execute(f"ALTER TABLE captures ADD COLUMN [{name}] INTEGER")
    db["captures"].create_index(["part_of"], if_not_exists=True)


def store_parts(db: sqlite_utils.Database, capture_id: int, parts: list[Capture] | tuple, run_id: int | None) -> None:
    """The later pages of an article split over pages (t…_1.html, t…_2.html), in order: each a capture of
    its own, linked to the first page's (captures.part_of/part_no); processing joins their text."""
    for number, part in enumerate(parts, start=1):
        part_id = storage.insert_capture(db, part, run_id=run_id, kind="part")
        with db.conn:
            db.execute("update captures set part_of = ?, part_no = ? where id = ?", [capture_id, number, part_id])
