"""Capture -> article -> archive in one call, in the calling thread: for re-checks, scale-out drains,
fixtures, tests and small jobs.

The crawl does the same in two stages (the capture is stored by crawler/run.py, processed by
pipelines.process.runner on every core); this runs both stages at once with the same functions.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlite_utils

from pipelines.process.pending import store_parts, tasks_of
from pipelines.process.steps import process_capture
from pipelines.process.write import store_processed
from pipelines.store import storage
from pipelines.store.storage import Capture


@dataclass
class Archived:
    capture_id: int
    article_id: int | None  # None: the page held no article text, or is no article (see reason)
    created: bool
    reason: str | None = None  # why there is no article


def archive_capture(db: sqlite_utils.Database, capture: Capture, *, region: str | None,
                    run_id: int | None = None, parts: list[Capture] | tuple = ()) -> Archived:
    """Store the raw capture (and the later pages of a multi-page article), extract its article and
    upsert it (keyed by the requested URL)."""
    capture_id = storage.insert_capture(db, capture, run_id=run_id, kind="article")
    store_parts(db, capture_id, parts, run_id)
    row = next(db.query("select * from captures where id = ?", [capture_id]))
    [task] = tasks_of(db, [row])
    task.region = region
    [written] = store_processed(db, [process_capture(task)], regions={capture.source_id: region})
    return Archived(capture_id, written.article_id, written.created, written.error)


def reextract_all(db: sqlite_utils.Database, chunk: int = 200) -> dict[str, int]:
    """Every article again from the capture it was last extracted from, in the calling thread, `chunk`
    captures at a time (flat memory). `govbrief reextract` does the same on every core
    (pipelines.process.runner.Processor.reextract). Returns counts."""
    from pipelines.process.pending import latest_article_captures

    counts = {"articles": 0, "changed": 0, "empty": 0}
    batch: list[dict] = []

    def flush() -> None:
        for written in store_processed(db, [process_capture(task) for task in tasks_of(db, batch)],
                                       record_errors=False):
            counts["articles"] += 1
            counts["empty"] += written.article_id is None
            counts["changed"] += written.changed
        batch.clear()

    # keyset pages of `chunk` rows, each read whole before the writes: reads and writes share the connection
    for row in latest_article_captures(db, chunk):
        batch.append(row)
        if len(batch) >= chunk:
            flush()
    if batch:
        flush()
    return counts
