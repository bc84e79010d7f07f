"""Ordered, batched writes to the archive from a thread of their own (the crawl's capture path).

The crawl hands every write (a capture, frontier rows, a failed request) to `BatchWriter.submit`,
which only appends to a queue: the Scrapy reactor never waits for SQLite. The writer thread
applies the writes in submission order and commits one transaction per `max_items` counted writes
(captures) or `max_seconds`, whichever comes first; a commit is durable (WAL, synchronous=NORMAL
survives a process kill; a power cut may lose the last commits, never tear one).

Why ordering matters for kill -9: what is committed is always a prefix of what the crawl asked
for, so the archive after a kill is exactly the archive of a crawl that stopped at that moment:
frontier rows are never committed after the captures they announce, and a list page is never
marked done before the article URLs it offered are in the frontier.

A write that SQLite refuses for its data (IntegrityError ...) undoes itself only (a savepoint) and
is logged; a failure of the archive itself (disk full, I/O error, read-only) stops the writer: the
failed batch is rolled back, later writes are dropped, and `on_failure` is called once (from the
writer thread) so the crawl can stop. What was committed before is kept.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pipelines.store import storage

logger = logging.getLogger(__name__)

Write = Callable[..., Any]  # fn(db, *args)
_STOP = object()


class BatchWriter:
    def __init__(self, db_path: str | Path, *, max_items: int = 50, max_seconds: float = 1.0,
                 on_failure: Callable[[BaseException], None] | None = None,
                 on_commit: Callable[[], None] | None = None) -> None:
        self.db_path = str(db_path)
        self.max_items, self.max_seconds = max_items, max_seconds
        self.on_failure, self.on_commit = on_failure, on_commit
        self.error: BaseException | None = None
        self.commits = 0
        self._queue: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="archive-writer", daemon=True)
        self._started = False

    def start(self) -> BatchWriter:
        self._thread.start()
        self._started = True
        return self

    def submit(self, function: Write, *args: Any, counts: bool = False,
               then: Callable[[Any], None] | None = None) -> None:
        """Queue `function(db, *args)`. counts=True: one of the max_items of a batch (a capture).
        then(result) runs in the writer thread after the batch holding it has committed."""
        if self.error is None:
            self._queue.put((function, args, counts, then))

    def close(self) -> BaseException | None:
        """Write what is queued, stop the thread; returns the storage error, if any."""
        if self._started:
            self._queue.put(_STOP)
            self._thread.join()
            self._started = False
        return self.error

    # ---------------------------------------------------------------- the thread

    def _run(self) -> None:
        try:
            db = storage.open_db(self.db_path, batches=True)
        except Exception as exc:
            self._failed(exc)
            self._drain()
            return
        batch: list[tuple] = []
        counted, started = 0, 0.0
        try:
            while True:
                timeout = None if not batch else max(0.0, started + self.max_seconds - time.monotonic())
                try:
                    item = self._queue.get(timeout=timeout)
                except queue.Empty:
                    item = None
                if item is not None and item is not _STOP:
                    if not batch:
                        started = time.monotonic()
                    batch.append(item)
                    counted += item[2]
                full = counted >= self.max_items or (batch and time.monotonic() - started >= self.max_seconds)
                if batch and (full or item is _STOP):
                    if not self._commit(db, batch):
                        if item is not _STOP:  # close() has not been called yet: wait for it
                            self._drain()
                        return
                    batch, counted = [], 0
                if item is _STOP:
                    return
        finally:
            db.close()

    def _commit(self, db: Any, batch: list[tuple]) -> bool:
        results = []
        try:
            with db.conn:
                for function, args, _, then in batch:
                    try:
                        with db.conn:  # a savepoint per write
                            result = function(db, *args)
                    except Exception as exc:
                        if storage.is_storage_failure(exc):
                            raise
                        logger.exception("archive write %s refused; skipped", getattr(function, "__name__", function))
                        continue
                    if then is not None:
                        results.append((then, result))
        except Exception as exc:
            if not storage.is_storage_failure(exc):
                raise
            self._failed(exc)
            return False
        self.commits += 1
        for then, result in results:
            then(result)
        if self.on_commit is not None:
            self.on_commit()
        return True

    def _failed(self, exc: BaseException) -> None:
        self.error = exc
        logger.error("%s: cannot write the archive (%s)", self.db_path, exc)
        if self.on_failure is not None:
            self.on_failure(exc)

    def _drain(self) -> None:
        """After a failure: forget queued writes (the next run fetches their pages again)."""
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
