"""ArchiveRun, the Scrapy extension that owns a crawl's run state.

- the run row (crawl_runs): started here for a plain `scrapy crawl`, by `govbrief crawl` otherwise;
- the capture path: captures (from crawler/pipeline.py), frontier rows and failed requests (from the
  spider, through crawler/signals.py) go to one BatchWriter (pipelines/store/batch.py): ordered,
  one transaction per <= 50 captures or <= 1 s, off the reactor thread;
- processing: a process of its own (pipelines/process/beside.py; `govbrief crawl` starts it before
  Scrapy and hands it over) feeds the stored captures to worker processes on every core while the
  crawl goes on, and drains at the end; a thread here waits for its stats;
- the verdict (crawler/health.py) once both have finished, written to the run row.

Settings: GOVBRIEF_PROCESS (default True; False = capture only, `govbrief process` later),
GOVBRIEF_PROCESS_WORKERS (default: one per CPU), GOVBRIEF_DB, GOVBRIEF_RUN_ID.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections import Counter
from typing import Any

from scrapy import signals
from scrapy.exceptions import NotConfigured

from crawler import signals as archive_signals
from crawler.health import EXIT_STORAGE, RunVerdict, assess_run
from pipelines.attachments.store import record_attachment
from pipelines.process.beside import Beside
from pipelines.process.pending import store_parts
from pipelines.process.runner import Processor, ProcessStats
from pipelines.store import frontier, migrations, storage
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
        self.process_stats: ProcessStats | None = None
        self._process_thread: threading.Thread | None = None
        # `govbrief crawl` starts the processing process before Scrapy (runs.run_scrapy hands it over):
        # used when this run processes with the same workers, else ended unused
        self._prestarted = getattr(crawler, "prestarted_processing", None)
        if self._prestarted is not None and (not self.process_enabled or self._prestarted.workers != self.workers
                                             or self._prestarted.db_path != str(self.db_path)):
            self._prestarted.close()
            self._prestarted = None
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
        connect(run.frontier_write, signal=archive_signals.frontier_write)
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
            migrations.ensure_schema(db)
            storage.upsert_sources(db, spider.sources.values())
            if self.run_id is None:  # plain `scrapy crawl`: this extension keeps the run record
                self.run_id = storage.start_run(db, sorted(spider.sources))
                self.owns_run = True
        finally:
            db.close()
        self.writer.start()
        if self.process_enabled:
            self._process_thread = threading.Thread(target=self._process, name="processing", daemon=True)
            self._process_thread.start()

    def _process(self) -> None:
        """Processing runs beside the crawl: in this thread with workers=0, else in a process of its own
        (pipelines/process/beside.py), so the reactor keeps this interpreter to itself."""
        try:
            if self.workers == 0:
                processor = Processor(self.db_path, workers=0, on_failure=self._failed_in_thread)
                self.process_stats = processor.run(until=self._capture_done)
            else:
                beside = self._prestarted or Beside(self.db_path, workers=self.workers)
                self.process_stats = beside.wait(self._capture_done, on_failure=self._failed_in_thread)
        except Exception:  # a bug in processing must not hang the crawl; captures stay waiting
            logger.exception("processing stopped; the stored captures wait for `govbrief process`")

    # ---------------------------------------------------------------- the capture path

    def store_capture(self, item: dict) -> dict:
        """Queue one response for the archive (the only thing the reactor thread does with it)."""
        source = self.spider.sources[item["source_id"]]
        capture = _capture(item, source.id)
        stats = self.spider.source_stats[source.id]
        kind = item.get("kind", "article")
        if kind == "recheck":
            def count(outcome: str) -> None:
                stats[f"recheck_{outcome}"] += 1

            self.writer.submit(_recheck, capture, source.region, self.run_id, counts=True, then=count,
                               prepare=capture.prepare)
        elif kind == "attachment":
            def counted(_: Any) -> None:
                stats["attachments_new"] += 1

            # the file's text is read in the writer thread: attachments are few, and their capture,
            # text and frontier row belong in one transaction
            self.writer.submit(_store_attachment, capture, item["article_url"], item["link_text"], self.run_id,
                               counts=True, then=counted, prepare=capture.prepare)
        else:
            parts = [_capture(part, source.id) for part in item.get("parts", [])]
            self.writer.submit(_store_article_capture, capture, self.run_id, parts, counts=True,
                               prepare=functools.partial(_prepare_all, [capture, *parts]))
        return {"url": capture.url, "kind": kind}

    def frontier_write(self, function: Any, args: tuple = (), kwargs: dict | None = None) -> None:
        """A frontier write the spider announced (crawler/signals.py), in order with the captures."""
        self.writer.submit(functools.partial(function, **kwargs) if kwargs else function, *args)

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
                    f"{stats.captures} captures in {stats.batches} transactions"
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
            self._finish(spider, verdict, reason)
        except Exception as exc:  # a full disk may refuse even this row; cmd_crawl reports it
            if not storage.is_storage_failure(exc):
                raise
            self.storage_error = self.storage_error or f"cannot record the run ({exc})"
            logger.error("run %s: could not record the verdict: %s", self.run_id, exc)
        spider.verdict = verdict  # govbrief crawl reads both from the spider (also a scale-out worker's)
        spider.storage_error = self.storage_error
        # the stats dump is off in the cron log (crawler/logs.py); the figure worth keeping is the peak memory
        peak = self.crawler.stats.get_value("memusage/max") if self.crawler.stats else None
        logger.info("run %s: %s (exit %s, peak memory %s MB)", self.run_id, verdict.message, verdict.exit_status,
                    f"{peak / 2**20:.1f}" if peak else "unknown")

    def _finish(self, spider: Any, verdict: RunVerdict, reason: str) -> None:
        totals = sum(spider.source_stats.values(), Counter())
        db = storage.open_db(self.db_path)
        try:
            if reason == "finished" and not self.storage_error:
                for source_id in spider.sources:  # walked to the end once: from now on incremental
                    frontier.settle_backlog(db, source_id)
            errors = storage.run_error_counts(db, self.run_id)
            storage.finish_run(
                db, self.run_id, status=verdict.status, exit_status=verdict.exit_status,
                pages_fetched=totals["list_ok"] + totals["article_ok"] + totals["sitemap_ok"] + totals["feed_ok"],
                list_pages=totals["list_ok"], articles_new=totals["articles_new"],
                articles_known=totals["articles_known"], errors=errors["new"], new_failures=errors["new"],
                known_dead_failures=errors["known_dead"], refused=errors["refused"],
                no_article=errors["no_article"],
                skipped=totals["list_budget_exhausted"] + totals["article_budget_exhausted"],
                message=verdict.message, stats={k: dict(v) for k, v in spider.source_stats.items()},
            )
        finally:
            db.close()


def _capture(item: dict, source_id: str) -> Capture:
    return Capture(url=item["url"], final_url=item["final_url"], status=item["status"], headers=item["headers"],
                   body=item["body"], fetched_at=item["fetched_at"], source_id=source_id)


def _store_attachment(db: Any, capture: Capture, article_url: str, link_text: str, run_id: int | None) -> int:
    attachment_id = record_attachment(db, capture, article_url=article_url, link_text=link_text, run_id=run_id)
    frontier.mark_done(db, capture.source_id, [capture.url], kind="attachment")
    return attachment_id


def _prepare_all(captures: list[Capture]) -> None:
    for capture in captures:
        capture.prepare()


def _store_article_capture(db: Any, capture: Capture, run_id: int | None, parts: list[Capture]) -> int:
    """The capture waits for processing; the later pages of a multi-page article are stored with it."""
    capture_id = storage.insert_capture(db, capture, run_id=run_id, kind="article")
    store_parts(db, capture_id, parts, run_id)
    return capture_id


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
