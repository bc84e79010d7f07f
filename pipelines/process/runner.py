"""Processing on every core: waiting captures → worker processes → one writer, batched.

    Processor(db_path).run(until)   used by the crawl (until: set when capture has finished),
                                    `govbrief process` (until=None: drain what waits, then stop)
    Processor(db_path).reextract()  `govbrief reextract`: every article again from its capture

The thread that calls run() owns one SQLite connection and is the only writer of processing
results; `process_capture` (pipelines.process.steps) runs in a ProcessPoolExecutor with one worker
per CPU. At most `workers * IN_FLIGHT_PER_WORKER` captures are in memory at once, so memory is
bounded by that window, not by the archive. Results are written with `store_processed`, one
transaction per BATCH_SIZE results or BATCH_SECONDS, whichever comes first.

Why processes and not threads: extraction is Python (lxml, trafilatura, our rules) and holds the GIL.
Why a fork server: the process that owns the pool holds SQLite connections (the crawl's: the run lock
too), which a forked child would share; the fork server is a fresh interpreter that holds none. It
imports pipelines.process.preload once, which loads the extraction stack and runs one page through
it, and forks every worker from there: the workers start warm, and the ~0.55 s of CPU that loading
costs is spent once, not once per worker (a crawl's start-up has both cores busy). Workers exit on
their own when the process that started them dies (kill -9 included).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.process.pending import latest_article_captures, tasks_of, waiting_captures
from pipelines.process.tasks import CaptureTask, ProcessedCapture
from pipelines.process.worker import (
    PAGE_CPU_SECONDS,
    follow_parent,
    fork_server_context,
    loaded,
    process_captures,
    start_worker,
    stop_fork_server,
)
from pipelines.process.write import Written, prepare_writer, store_processed
from pipelines.store import storage

logger = logging.getLogger(__name__)

BATCH_SIZE = 100  # results per transaction (the capture path commits every 50 captures)
BATCH_SECONDS = 2.0  # ... or this long after the first result of a batch arrived
# Captures handed to the pool per worker: enough queued work that no worker idles while the writer
# writes a batch (~50 ms, during which it neither collects nor feeds). At 16, processing the bench
# site's 2,000 captures left 1.7-1.9 core-s of two cores idle, 1.0-1.2 at 48 (docs/architecture.md);
# the window costs memory only for compressed bodies in flight (~1 MB a worker).
IN_FLIGHT_PER_WORKER = 48
CHUNK = 8  # captures per task sent to a worker: per-task IPC costs ~1 ms, a page ~5 ms
IDLE_POLL_SECONDS = 0.1  # how often a crawl's processor looks for newly stored captures (one indexed query)


@dataclass
class ProcessStats:
    """Per source: articles_new, articles_updated, articles_empty, processing_errors; and totals."""

    by_source: dict[str | None, Counter] = field(default_factory=lambda: defaultdict(Counter))
    captures: int = 0
    changed: int = 0
    batches: int = 0
    storage_error: str | None = None

    def add(self, written: Written) -> None:
        counts = self.by_source[written.source_id]
        self.captures += 1
        self.changed += written.changed
        if written.attachment:
            counts["attachment_texts"] += 1
        elif written.article_id is None:
            counts["processing_errors" if (written.error or "").startswith("processing failed") else
                   "articles_empty"] += 1
        else:
            counts["articles_new" if written.created else "articles_updated"] += 1

    def total(self, key: str) -> int:
        return sum(c[key] for c in self.by_source.values())

    def as_dict(self) -> dict:
        """Plain data (what a pipe can carry: the defaultdict's factory cannot be pickled)."""
        return {"by_source": {k: dict(v) for k, v in self.by_source.items()}, "captures": self.captures,
                "changed": self.changed, "batches": self.batches, "storage_error": self.storage_error}

    @classmethod
    def from_dict(cls, data: dict) -> ProcessStats:
        stats = cls(captures=data["captures"], changed=data["changed"], batches=data["batches"],
                    storage_error=data["storage_error"])
        for source_id, counts in data["by_source"].items():
            stats.by_source[source_id].update(counts)
        return stats


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


class Processor:
    """Feeds captures to `process_capture` in worker processes and writes the results in batches.

    workers=0 processes in the calling thread (no pool): same results, for small jobs and tests.
    page_cpu_seconds: what one capture may cost a worker (worker.PAGE_CPU_SECONDS; None: no limit).
    on_failure(exc) is called once, from this thread, when the archive cannot be written."""

    def __init__(self, db_path: str | Path, *, workers: int | None = None, batch_size: int = BATCH_SIZE,
                 batch_seconds: float = BATCH_SECONDS, page_cpu_seconds: float | None = PAGE_CPU_SECONDS,
                 on_failure: Callable[[BaseException], None] | None = None) -> None:
        self.db_path = str(db_path)
        self.workers = default_workers() if workers is None else workers
        self.page_cpu_seconds = page_cpu_seconds
        self.batch_size, self.batch_seconds = batch_size, batch_seconds
        self.on_failure = on_failure
        self.stats = ProcessStats()
        self._pool: ProcessPoolExecutor | None = None

    # ---------------------------------------------------------------- public

    def run(self, until: threading.Event | None = None, *, keep_workers: bool = False) -> ProcessStats:
        """Process waiting captures. until=None: stop when none waits; else keep looking for new ones
        until the event is set, then process what is left and stop. keep_workers: leave the (idle)
        workers running for the caller to close_workers(), so it can report first (stopping them
        takes ~0.1 s, which the crawl's lineage step need not wait for)."""
        db = storage.open_db(self.db_path, batches=True)
        try:
            cursor = 0
            self.start_workers()

            def feed(room: int) -> Iterable[CaptureTask]:
                nonlocal cursor
                rows = waiting_captures(db, cursor, room)
                if rows:
                    cursor = rows[-1]["id"]
                return tasks_of(db, rows)

            def idle() -> bool:  # True: stop; False: wait for more captures
                if until is None:
                    return True
                if until.is_set():
                    return not waiting_captures(db, cursor, 1)  # a last look after capture finished
                time.sleep(IDLE_POLL_SECONDS)
                return False

            self._loop(db, feed, idle, record_errors=True)
        except BaseException:
            self.close_workers()
            raise
        finally:
            db.close()
        if not keep_workers:
            self.close_workers()
        return self.stats

    def reextract(self) -> ProcessStats:
        """Every article again from the capture it was last extracted from. Streams: flat memory."""
        db = storage.open_db(self.db_path, batches=True)
        reader = storage.open_db(self.db_path)  # a second connection: the writer commits meanwhile
        try:
            rows = latest_article_captures(reader)

            def feed(room: int) -> Iterable[CaptureTask]:
                chunk = []
                for row in rows:
                    chunk.append(row)
                    if len(chunk) >= room:
                        break
                return tasks_of(reader, chunk)

            self._loop(db, feed, lambda: True, record_errors=False)
        finally:
            self.close_workers()
            reader.close()
            db.close()
        return self.stats

    # ---------------------------------------------------------------- the loop

    def _loop(self, db, feed: Callable[[int], Iterable[CaptureTask]], idle: Callable[[], bool], *,
              record_errors: bool) -> None:
        window = max(1, self.workers) * IN_FLIGHT_PER_WORKER
        inflight: dict[Future, list[CaptureTask]] = {}
        ready: list[ProcessedCapture] = []
        first_ready = 0.0
        prepared = False
        while self.stats.storage_error is None:
            fed = 0
            queued = sum(len(tasks) for tasks in inflight.values())
            if queued < window:
                tasks = list(feed(window - queued))
                self._submit(tasks, inflight, ready)
                fed = len(tasks)
                if fed and not prepared:  # the workers have their first captures: load the writer's tables
                    prepare_writer()
                    prepared = True
            if ready and not first_ready:
                first_ready = time.monotonic()
            done = self._collect(inflight, timeout=0.05 if ready else 0.2)
            if done and not ready:
                first_ready = time.monotonic()
            ready.extend(done)
            due = ready and (len(ready) >= self.batch_size or not inflight
                             or time.monotonic() - first_ready >= self.batch_seconds)
            if due:
                batch, ready, first_ready = ready[:self.batch_size], ready[self.batch_size:], 0.0
                self._write(db, batch, record_errors=record_errors)
                continue
            if not fed and not inflight and not ready and idle():
                return

    def _submit(self, tasks: list[CaptureTask], inflight: dict, ready: list[ProcessedCapture]) -> None:
        if self.workers == 0:
            ready.extend(process_captures(tasks))
            return
        for k in range(0, len(tasks), CHUNK):
            chunk = tasks[k:k + CHUNK]
            inflight[self._pool_or_start().submit(process_captures, chunk)] = chunk

    def _collect(self, inflight: dict, timeout: float) -> list[ProcessedCapture]:
        if not inflight:
            return []
        done, _ = wait(list(inflight), timeout=timeout, return_when=FIRST_COMPLETED)
        results = []
        for future in done:
            chunk = inflight.pop(future)
            try:
                results.extend(future.result())
            except BrokenProcessPool as exc:  # a worker died (OOM killer): start a fresh pool
                logger.error("processing worker died (%s); restarting the pool", exc)
                self._close_pool()
                results.extend(_failed(task, f"processing failed: worker died ({exc})") for task in chunk)
            except Exception as exc:  # process_capture catches its own errors; this is pickling etc.
                results.extend(_failed(task, f"processing failed: {exc!r}"[:500]) for task in chunk)
        return results

    def _write(self, db, batch: list[ProcessedCapture], *, record_errors: bool) -> None:
        """Write one batch in one transaction; a failing archive stops processing (captures wait)."""
        try:
            written = store_processed(db, batch, record_errors=record_errors)
        except Exception as exc:
            if not storage.is_storage_failure(exc):
                raise
            self.stats.storage_error = f"{self.db_path}: cannot write the archive ({exc})"
            logger.error("%s; processing stops (captures stay waiting for the next run)", self.stats.storage_error)
            if self.on_failure is not None:
                self.on_failure(exc)
            return
        self.stats.batches += 1
        for w in written:
            self.stats.add(w)

    def close_workers(self) -> None:
        """Stop the workers and the fork server (this process is done with workers). Idempotent."""
        self._close_pool(final=True)

    def start_workers(self) -> None:
        """Start the workers now: they load the extraction libraries while the crawl starts."""
        if self.workers > 0 and self._pool is None:
            pool = self._pool_or_start()
            for _ in range(self.workers):
                pool.submit(loaded)

    def _pool_or_start(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(self.workers, mp_context=fork_server_context(), initializer=start_worker,
                                             initargs=(os.getpid(), self.page_cpu_seconds))
        return self._pool

    def _close_pool(self, *, final: bool = False) -> None:
        """Stop the workers; final: this process is done with workers, so the fork server goes too."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        if final:
            stop_fork_server()


def _failed(task: CaptureTask, error: str) -> ProcessedCapture:
    return ProcessedCapture.of(task, error=error)


# ---------------------------------------------------------------- processing beside a crawl


class ProcessingFailed(Exception):
    """The processing process could not write the archive (its message says why)."""


def _processing_main(db_path: str, workers: int | None, go, done, send, parent_pid: int, log_level: int) -> None:
    """The processing process: the worker pool at once; Processor.run once `go` is set, until `done`;
    its stats sent back over `send`. `done` without `go`: the crawl never started, nothing is opened."""
    follow_parent(parent_pid)
    logging.basicConfig(level=log_level, format="%(asctime)s [%(name)s] %(levelname)s: %(message)s")

    def failed(exc: BaseException) -> None:
        send.send(("failed", str(exc)))

    processor = Processor(db_path, workers=workers, on_failure=failed)
    try:
        processor.start_workers()
        # the writer's tables now, while the crawl starts up and this process has nothing to do, rather
        # than once captures arrive and both cores are busy (~0.16 s of CPU: the search fold table)
        prepare_writer()
        while not go.wait(0.2):
            if done.is_set():
                processor.close_workers()
                send.send(("done", ProcessStats().as_dict()))
                return
        stats = processor.run(until=done, keep_workers=True)  # stopped after the report below
    except Exception:  # a bug in processing must not hang the crawl; captures stay waiting
        logger.exception("processing stopped; the stored captures wait for `govbrief process`")
        stats = ProcessStats()
    send.send(("done", stats.as_dict()))
    send.close()
    processor.close_workers()


def process_waiting(db_path: str | Path, *, workers: int | None = None,
                    until: threading.Event | None = None) -> ProcessStats:
    """`govbrief process`: process every capture that waits (see Processor.run)."""
    return Processor(db_path, workers=workers).run(until)

