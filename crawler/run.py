"""ArchiveRun, the Scrapy extension that owns a crawl's run state.

- the run row (crawl_runs): started here for a plain `scrapy crawl`, by `govbrief crawl` otherwise;
- the capture path: captures (from crawler/pipeline.py), frontier rows and failed requests (from the
  spider, through crawler/signals.py) go to one BatchWriter (pipelines/store/batch.py): ordered,
  one transaction per <= 50 captures or <= 1 s, off the reactor thread;
- processing: a Processor (pipelines/process/runner.py) in a thread of its own feeds the stored
  captures to worker processes on every core while the crawl goes on, and drains at the end;
- the verdict (crawler/health.py) once both have finished, written to the run row.

Settings: GOVBRIEF_PROCESS (default True; False = capture only, `govbrief process` later),
GOVBRIEF_PROCESS_WORKERS (default: one per CPU), GOVBRIEF_DB, GOVBRIEF_RUN_ID.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from typing import Any

from scrapy import signals
from scrapy.exceptions import NotConfigured

from crawler import signals as archive_signals
from crawler.health import EXIT_STORAGE, RunVerdict, assess_run
from pipelines.process.runner import Processor, ProcessStats
from pipelines.store import storage
from pipelines.store.batch import BatchWriter
from pipelines.store.storage import Capture

logger = logging.getLogger(__name__)


class ArchiveRun:
    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        settings = crawler.settings
        self.db_path = settings.get("GOVBRIEF_DB")
        self.run_id: int | None = settings.getint("GOVBRIEF_RUN_ID") or None
        self.owns_run = False
        self.process_enabled = settings.getbool("GOVBRIEF_PROCESS", True)
        workers = settings.get("GOVBRIEF_PROCESS_WORKERS")
        self.workers = int(workers) if workers not in (None, "") else None
        self.writer = BatchWriter(self.db_path, on_failure=self._failed_in_thread)
        self.processor: Processor | None = None
        self.process_stats: ProcessStats | None = None
        self._process_thread: threading.Thread | None = None
        self._capture_done = threading.Event()
        self.storage_error: str | None = None
        self.verdict: RunVerdict | None = None
        self.spider: Any = None

    @classmethod
    def from_crawler(cls, crawler: Any) -> ArchiveRun:
        run = cls(crawler)
        connect = crawler.signals.connect
        connect(run.spider_opened, signal=signals.spider_opened)
        connect(run.spider_closed, signal=signals.spider_closed)
        connect(run.frontier_add, signal=archive_signals.frontier_add)
        connect(run.frontier_done, signal=archive_signals.frontier_done)
        connect(run.fetch_failed, signal=archive_signals.fetch_failed)
        return run

    @staticmethod
    def of(crawler: Any) -> ArchiveRun:
        """The crawler's ArchiveRun (the item pipeline hands it the captures)."""
        for extension in crawler.extensions.middlewares:
            if isinstance(extension, ArchiveRun):
                return extension
        raise NotConfigured("crawler.run.ArchiveRun is not in EXTENSIONS")

    # ---------------------------------------------------------------- start

    def spider_opened(self, spider: Any) -> None:
        self.spider = spider
        db = storage.open_db(self.db_path)
        try:
            storage.ensure_schema(db)
            storage.upsert_sources(db, spider.sources.values())
            if self.run_id is None:  # plain `scrapy crawl`: this extension keeps the run record
                self.run_id = storage.start_run(db, sorted(spider.sources))
                self.owns_run = True
        finally:
            db.close()
        self.writer.start()
        if self.process_enabled:
            self.processor = Processor(self.db_path, workers=self.workers, on_failure=self._failed_in_thread)
            self._process_thread = threading.Thread(target=self._process, name="processing", daemon=True)
            self._process_thread.start()

    def _process(self) -> None:
        assert self.processor is not None
        try:
            self.process_stats = self.processor.run(until=self._capture_done)
        except Exception:  # a bug in processing must not hang the crawl; captures stay waiting
            logger.exception("processing stopped; the stored captures wait for `govbrief process`")

    # ---------------------------------------------------------------- the capture path

    def store_capture(self, item: dict) -> dict:
        """Queue one response for the archive (the only thing the reactor thread does with it)."""
        source = self.spider.sources[item["source_id"]]
        capture = Capture(url=item["url"], final_url=item["final_url"], status=item["status"],
                          headers=item["headers"], body=item["body"], fetched_at=item["fetched_at"],
                          source_id=source.id)
        if item.get("kind") == "recheck":
            stats = self.spider.source_stats[source.id]

            def count(outcome: str) -> None:
                stats[f"recheck_{outcome}"] += 1

            self.writer.submit(_recheck, capture, source.region, self.run_id, counts=True, then=count)
        else:
            self.writer.submit(_store_article_capture, capture, self.run_id, counts=True)
        return {"url": capture.url, "kind": item.get("kind", "article")}

    def frontier_add(self, source_id: str, kind: str, urls: list[str], depth: int = 0) -> None:
        self.writer.submit(storage.frontier_add, source_id, kind, list(urls), depth)

    def frontier_done(self, source_id: str, url: str) -> None:
        self.writer.submit(storage.frontier_done, source_id, url)

    def fetch_failed(self, error: dict) -> None:
        self.writer.submit(storage.record_fetch_errors, self.run_id, [error])

    # ---------------------------------------------------------------- storage failure

    def _failed_in_thread(self, exc: BaseException) -> None:
        from twisted.internet import reactor

        reactor.callFromThread(self._storage_failed, exc)

    def _storage_failed(self, exc: BaseException) -> None:
        """Disk full, I/O error, read-only or corrupt archive: stop the run, keep what is archived.

        Every batch before was committed, so stopping loses nothing archived; fetching on would only
        throw pages away. cmd_crawl reports storage_error (exit 74)."""
        if self.storage_error:
            return
        self.storage_error = f"{self.db_path}: cannot write the archive ({exc})"
        logger.error("%s; stopping the crawl", self.storage_error)
        engine = self.crawler.engine
        if engine is not None and engine.running:
            from scrapy.utils.defer import deferred_from_coro

            deferred_from_coro(engine.close_spider_async(reason="archive_write_failed"))

    # ---------------------------------------------------------------- the end

    def spider_closed(self, spider: Any, reason: str) -> None:
        error = self.writer.close()  # every capture and frontier row queued is committed (or failed)
        self._capture_done.set()
        if self._process_thread is not None:
            self._process_thread.join()  # processing drains what was captured
        if error is not None and not self.storage_error:
            self.storage_error = f"{self.db_path}: cannot write the archive ({error})"
        stats = self.process_stats
        logger.info("capture: %d transactions; processing: %s", self.writer.commits,
                    f"{stats.captures} captures ({stats.requeued} second passes) in {stats.batches} transactions"
                    if stats is not None else "off (govbrief process)")
        if stats is not None:
            for source_id, counts in stats.by_source.items():
                if source_id in spider.source_stats:
                    spider.source_stats[source_id].update(counts)
            if stats.storage_error and not self.storage_error:
                self.storage_error = stats.storage_error
        verdict = assess_run(spider.source_stats, reason)
        if self.storage_error:
            verdict = RunVerdict(EXIT_STORAGE, "storage_error", [self.storage_error, *verdict.problems])
        self.verdict = verdict
        try:
            self._finish(spider, verdict)
        except Exception as exc:  # a full disk may refuse even this row; cmd_crawl reports it
            if not storage.is_storage_failure(exc):
                raise
            self.storage_error = self.storage_error or f"cannot record the run ({exc})"
            logger.error("run %s: could not record the verdict: %s", self.run_id, exc)
        logger.info("run %s: %s (exit %s)", self.run_id, verdict.message, verdict.exit_status)

    def _finish(self, spider: Any, verdict: RunVerdict) -> None:
        totals = sum(spider.source_stats.values(), Counter())
        db = storage.open_db(self.db_path)
        try:
            if not self.storage_error:
                for source_id in spider.sources:
                    storage.frontier_settle(db, source_id)
            storage.finish_run(
                db, self.run_id, status=verdict.status, exit_status=verdict.exit_status,
                pages_fetched=totals["list_ok"] + totals["article_ok"] + totals["sitemap_ok"] + totals["feed_ok"],
                list_pages=totals["list_ok"], articles_new=totals["articles_new"],
                articles_known=totals["articles_known"],
                errors=sum(v for k, v in totals.items() if k.endswith("_failed")),
                message=verdict.message, stats={k: dict(v) for k, v in spider.source_stats.items()},
            )
        finally:
            db.close()


def _store_article_capture(db: Any, capture: Capture, run_id: int | None) -> int:
    return storage.insert_capture(db, capture, run_id=run_id, kind="article")


def _recheck(db: Any, capture: Capture, region: str | None, run_id: int | None) -> str:
    """One re-check response (rare: only articles due for a check): compared with the archive in the
    writer thread, in the batch's transaction."""
    from pipelines.recheck import policy as recheck

    try:
        with db.conn:  # a savepoint: a failed re-check leaves nothing half-written
            return recheck.apply_recheck(db, capture, region=region, run_id=run_id)
    except Exception as exc:  # a failed re-check must not drop the run or earlier work
        if storage.is_storage_failure(exc):
            raise
        logger.exception("could not record re-check of %s", capture.url)
        storage.record_fetch_errors(db, run_id, [{"source_id": capture.source_id, "url": capture.url,
                                                  "kind": "recheck", "reason": f"recheck failed: {exc!r}"[:500],
                                                  "status": capture.status}])
        return "failed"
