"""Ordered, batched writes to the archive from a thread of their own (the crawl's capture path).

The crawl hands every write (a capture, frontier rows, a failed request) to `BatchWriter.submit`,
which only appends to a queue: the Scrapy reactor never waits for SQLite. The writer thread
applies the writes in submission order and commits one transaction per `max_items` counted writes
(captures) or `max_seconds`, whichever comes first; a commit is durable (WAL, synchronous=NORMAL
survives a process kill; a power cut may lose the last commits, never tear one).

A write may come with `prepare`: CPU work it needs that does not need the archive (compressing and
hashing a capture's body). The writer thread runs it as it takes the write from the queue, before the
batch's transaction begins, so the archive's write lock is held for the SQL only. Why it matters: this
thread shares the interpreter with Scrapy's reactor, which holds the GIL nearly all the time while it
fetches, so every statement or zlib call that releases the GIL inside the transaction waits for it
again (up to the 5 ms switch interval). On a site of 47 KB pages the batches held the lock 3.8-4.3 s
of a 5.5 s fetching phase, and processing's writer (another process) waited 2.2-3.1 s for it while
the workers ran out of captures; with the compression ahead, 1.2-1.8 s and 0.2-0.4 s.

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
               then: Callable[[Any], None] | None = None, prepare: Callable[[], Any] | None = None) -> None:
        """Queue `function(db, *args)`. counts=True: one of the max_items of a batch (a capture).
        then(result) runs in the writer thread after the batch holding it has committed.
        prepare(): runs in the writer thread before the batch's transaction (see the module docstring);
        if it fails, the write still runs and does that work itself."""
        if self.error is None:
            self._queue.put((function, args, counts, then, prepare))

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
                    _prepare(item)
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
                for function, args, _, then, _ in batch:
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


def _prepare(item: tuple) -> None:
    prepare = item[4]
    if prepare is not None:
        try:
            prepare()
        except Exception:  # the write itself does the work again (and fails in its savepoint if it must)
            logger.exception("preparing archive write %s failed", getattr(item[0], "__name__", item[0]))
