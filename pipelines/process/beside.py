"""The processing process of a crawl, which can start before the crawl has opened its archive.

Kept apart from runner.py so that starting it imports nothing heavy in the crawl process: the child
imports the processing code itself (`_main`).
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import multiprocessing
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipelines.process.runner import ProcessStats

logger = logging.getLogger(__name__)


PROCESSING_NICENESS = 5  # added to the niceness of a crawl's processing process and its workers


def _main(db_path: str, workers: int | None, *args) -> None:
    """The processing process. Below the crawl's priority (inherited by the fork server and the
    workers): the reactor bounds the fetch rate, so it gets a core whenever it can use one, and
    processing takes the rest; what it has not done when fetching ends it does then, on every core.
    Also keeps this process's start-up from slowing the crawl's. The workers' fork server starts
    before this process imports the processing code, so the two load side by side."""
    with contextlib.suppress(OSError):
        os.nice(PROCESSING_NICENESS)
    if workers != 0:
        from pipelines.process.worker import start_fork_server

        # if it cannot start, the pool tries again when it starts its workers, inside the processing
        # loop's handler, which logs the failure and leaves the captures waiting
        with contextlib.suppress(Exception):
            start_fork_server()
    from pipelines.process.runner import _processing_main

    _processing_main(db_path, workers, *args)


class Beside:
    """The processing process of a crawl: Processor.run in a process of its own.

    Why a process: the writer (upserts, search tokens, facts rows) is Python holding the GIL; in a
    thread of the crawl it took the reactor's interpreter away for ~1/4 of the time, so one process
    did the fetching and the writing and the second core idled (profile in docs/architecture.md).
    The child is spawned (not forked: this process holds SQLite connections and the run lock).

    It can be started before the archive is ready (`govbrief crawl` starts it first thing): the
    child imports the processing code and starts its worker pool, which loads the extraction stack,
    on the cores the crawl's own start-up (Scrapy, the archive's schema, the registry) leaves idle,
    and opens the archive only once `go()` is called. `wait(until)` (from a thread of the crawl)
    returns its stats after `until` is set and nothing waits, as soon as the child has closed the
    archive and while it still stops its workers; `close()` reaps it, or ends it unused. It exits on
    its own when the crawl process dies (kill -9 included); what it committed stays, what it had not
    is still waiting (captures.processed_at)."""

    def __init__(self, db_path: str | Path, *, workers: int | None) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.db_path, self.workers = str(db_path), workers
        self._go, self._done = ctx.Event(), ctx.Event()
        self._receive, send = ctx.Pipe(duplex=False)
        self._child = ctx.Process(
            target=_main, name="govbrief-processing", daemon=False,
            args=(self.db_path, workers, self._go, self._done, send, os.getpid(),
                  logging.getLogger().getEffectiveLevel()))
        self._child.start()
        send.close()  # the child's end: recv() raises EOFError once the child is gone
        self._closed = False
        # the child is not a daemon (it has workers of its own), so interpreter exit joins it: make sure
        # it is told to stop first, whatever path this process leaves by (atexit runs this before
        # multiprocessing's join, registered earlier)
        atexit.register(self.close)

    @property
    def pid(self) -> int | None:
        return self._child.pid

    def go(self) -> None:
        """The archive exists and is migrated: start processing."""
        self._go.set()

    def wait(self, until: threading.Event, on_failure: Callable[[BaseException], None] | None = None
             ) -> ProcessStats:
        """Forward `until`, pass storage failures to on_failure, return the child's stats."""
        from pipelines.process.runner import ProcessingFailed, ProcessStats

        self.go()
        stats: ProcessStats | None = None
        try:
            while stats is None:
                if until.is_set() and not self._done.is_set():
                    self._done.set()
                try:
                    if not self._receive.poll(0.2):
                        if not self._child.is_alive() and not self._receive.poll(0):
                            break
                        continue
                    kind, payload = self._receive.recv()
                except EOFError:
                    break
                if kind == "failed":
                    if on_failure is not None:
                        on_failure(ProcessingFailed(payload))
                else:
                    stats = ProcessStats.from_dict(payload)
        finally:
            if stats is None:
                self.close()
            else:  # the report is the child's last word: it stops its workers and exits on its own,
                self._done.set()  # and close() (atexit at the latest) reaps it, without holding up the caller
        if stats is None:
            logger.error("the processing process ended without a report (exit %s); stored captures wait for "
                         "`govbrief process`", self._child.exitcode)
            stats = ProcessStats()
        return stats

    def close(self) -> None:
        """Stop the child (unused: it exits without opening the archive) and wait for it. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._done.set()
        self._child.join()
        self._receive.close()
        atexit.unregister(self.close)
