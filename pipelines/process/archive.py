"""Capture -> article -> archive in one call, in the calling thread: for fixtures, tests and small jobs.

The crawl does the same in two stages (the capture is stored by crawler/pipeline.py, processed by
pipelines.process.runner on every core); this runs both stages at once with the same functions.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import sqlite_utils

from pipelines.extract import boilerplate
from pipelines.process.steps import CaptureTask, process_capture
from pipelines.process.write import store_processed
from pipelines.store import storage
from pipelines.store.storage import Capture


@dataclass
class Archived:
    capture_id: int
    article_id: int | None  # None: the page held no article text
    created: bool


def archive_capture(db: sqlite_utils.Database, capture: Capture, *, region: str | None,
                    run_id: int | None = None) -> Archived:
    """Store the raw capture, extract its article and upsert it (keyed by the requested URL)."""
    capture_id = storage.insert_capture(db, capture, run_id=run_id, kind="article")
    row = next(db.query("select * from captures where id = ?", [capture_id]))
    task = CaptureTask.from_row(row)
    task = replace(task, boilerplate=boilerplate.boilerplate_for_host(db, task.host, exact=True))
    while True:
        [written] = store_processed(db, [process_capture(task)], regions={capture.source_id: region})
        if not written.requeue:
            return Archived(capture_id, written.article_id, written.created)
        task = replace(task, boilerplate=boilerplate.boilerplate_for_host(db, task.host, exact=True),
                       attempt=task.attempt + 1)
