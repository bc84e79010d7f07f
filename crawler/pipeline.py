"""The Scrapy item pipeline: a thin wrapper over pipelines.process.archive and pipelines.store.storage."""

from __future__ import annotations

import logging
from collections import Counter

from scrapy import signals

from crawler.health import EXIT_STORAGE, RunVerdict, assess_run
from pipelines.attachments.store import archive_attachment
from pipelines.process.archive import archive_capture
from pipelines.store import frontier, storage
from pipelines.store.storage import Capture

logger = logging.getLogger(__name__)


class ArchivePipeline:
    def __init__(self, crawler):
        self.crawler = crawler
        self.db = None
        self.run_id: int | None = None
        self.owns_run = False
        self.storage_error: str | None = None

    @classmethod
    def from_crawler(cls, crawler):
        pipeline = cls(crawler)
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        return pipeline

    def open_spider(self, spider=None):
        spider = spider or self.crawler.spider
        self.db = storage.open_db(self.crawler.settings.get("GOVBRIEF_DB"))
        storage.ensure_schema(self.db)
        storage.upsert_sources(self.db, spider.sources.values())
        self.run_id = self.crawler.settings.getint("GOVBRIEF_RUN_ID") or None
        if self.run_id is None:  # plain `scrapy crawl`: this pipeline keeps the run record
            self.run_id = storage.start_run(self.db, sorted(spider.sources))
            self.owns_run = True
        spider.fetch_errors = []
        spider.error_sink = lambda: self._flush_errors(spider)  # errors reach the archive at once
        spider.archive_write = lambda function, *args, **kwargs: self._write(spider, function, *args, **kwargs)
        spider.run_id = self.run_id

    def process_item(self, item, spider=None):
        spider = spider or self.crawler.spider
        if self.storage_error:  # the archive cannot be written: drop, the next run fetches it again
            return {"url": item["url"], "archived": False}
        try:
            return self._process(item, spider)
        except Exception as exc:
            if not storage.is_storage_failure(exc):
                raise
            self._storage_failed(spider, exc)
            return {"url": item["url"], "archived": False}

    def _storage_failed(self, spider, exc: BaseException) -> None:
        """Disk full, I/O error, read-only or corrupt archive: stop the run, keep what is archived.

        Every earlier write was its own committed transaction, so stopping loses nothing archived;
        fetching on would only throw pages away. cmd_crawl reports spider.storage_error (exit 74)."""
        if self.storage_error:
            return
        self.storage_error = f"{self.crawler.settings.get('GOVBRIEF_DB')}: cannot write the archive ({exc})"
        spider.storage_error = self.storage_error
        logger.error("%s; stopping the crawl", self.storage_error)
        from scrapy.utils.defer import deferred_from_coro

        deferred_from_coro(self.crawler.engine.close_spider_async(reason="archive_write_failed"))

    def _process(self, item, spider):
        source = spider.sources[item["source_id"]]
        capture = _capture(item, source.id)
        stats = spider.source_stats[source.id]
        if item.get("kind") == "attachment":
            archive_attachment(self.db, capture, article_url=item["article_url"], link_text=item["link_text"],
                               run_id=self.run_id)
            frontier.mark_done(self.db, source.id, [capture.url], kind="attachment")
            stats["attachments_new"] += 1
            return {"url": capture.url, "attachment_of": item["article_url"]}
        if item.get("kind") == "recheck":
            from pipelines.recheck import policy as recheck

            try:
                outcome = recheck.apply_recheck(self.db, capture, region=source.region, run_id=self.run_id)
            except Exception as exc:  # a failed re-check must not drop the run or earlier work
                if storage.is_storage_failure(exc):
                    raise
                logger.exception("could not record re-check of %s", capture.url)
                spider.fetch_errors.append({"source_id": source.id, "url": capture.url, "kind": "recheck",
                                            "reason": f"recheck failed: {exc!r}"[:500], "status": capture.status})
                outcome = "failed"
            stats[f"recheck_{outcome}"] += 1
            self._flush_errors(spider)
            return {"url": capture.url, "recheck": outcome}
        try:
            parts = [_capture(part, source.id) for part in item.get("parts", [])]
            archived = archive_capture(self.db, capture, region=source.region, run_id=self.run_id, parts=parts)
        except Exception as exc:  # one bad page must not stop the run or lose what is archived
            if storage.is_storage_failure(exc):
                raise
            logger.exception("could not archive %s", capture.url)
            spider.fetch_errors.append({"source_id": source.id, "url": capture.url, "kind": "article",
                                        "reason": f"archive failed: {exc!r}"[:500], "status": capture.status})
            stats["article_failed"] += 1
            return {"url": capture.url, "archived": False}
        if archived.article_id is None:
            # fetched fine but no article (no text, not HTML, a soft 404): dead, looked at again on a backoff
            stats["articles_empty"] += 1
            reason = archived.reason or _empty_reason(capture)
            frontier.mark_failed(self.db, source.id, capture.url, "article", reason, permanent=True,
                                 base_hours=spider.retry_base_hours)
            spider.fetch_errors.append({"source_id": source.id, "url": capture.url, "kind": "article",
                                        "reason": reason, "status": capture.status, "category": "no_article"})
        else:
            frontier.mark_done(self.db, source.id, [capture.url])
            if archived.created:
                stats["articles_new"] += 1
        self._flush_errors(spider)
        return {"url": capture.url, "article_id": archived.article_id, "created": archived.created}

    def _write(self, spider, function, *args, **kwargs):
        """Run one storage write for the spider (frontier rows); a failing archive stops the run."""
        if self.db is None or self.storage_error:
            return None
        try:
            return function(self.db, *args, **kwargs)
        except Exception as exc:
            if not storage.is_storage_failure(exc):
                raise
            self._storage_failed(spider, exc)
            return None

    def _flush_errors(self, spider) -> None:
        if not spider.fetch_errors or self.db is None or self.storage_error:
            return
        try:
            storage.record_fetch_errors(self.db, self.run_id, spider.fetch_errors)
        except Exception as exc:
            if not storage.is_storage_failure(exc):
                raise
            self._storage_failed(spider, exc)
            return
        spider.fetch_errors.clear()

    def close_spider(self, spider=None):
        pass  # the run is finalised on spider_closed, which knows why the crawl ended

    def spider_closed(self, spider, reason):
        if self.db is None:
            return
        self._flush_errors(spider)
        if reason == "finished" and not self.storage_error:
            for source_id in spider.sources:  # walked to the end once: from now on incremental
                self._write(spider, frontier.settle_backlog, source_id)
        verdict = assess_run(spider.source_stats, reason)
        if self.storage_error:
            verdict = RunVerdict(EXIT_STORAGE, "storage_error", [self.storage_error, *verdict.problems])
        totals = sum(spider.source_stats.values(), Counter())
        spider.verdict = verdict
        try:
            errors = storage.run_error_counts(self.db, self.run_id)
            storage.finish_run(
                self.db, self.run_id, status=verdict.status, exit_status=verdict.exit_status,
                pages_fetched=totals["list_ok"] + totals["article_ok"] + totals["sitemap_ok"] + totals["feed_ok"],
                list_pages=totals["list_ok"], articles_new=totals["articles_new"],
                articles_known=totals["articles_known"], errors=errors["new"], new_failures=errors["new"],
                known_dead_failures=errors["known_dead"], refused=errors["refused"],
                no_article=errors["no_article"],
                skipped=totals["list_budget_exhausted"] + totals["article_budget_exhausted"],
                message=verdict.message, stats={k: dict(v) for k, v in spider.source_stats.items()},
            )
        except Exception as exc:  # a full disk may refuse even this row; cmd_crawl reports it
            if not storage.is_storage_failure(exc):
                raise
            spider.storage_error = self.storage_error or f"cannot record the run ({exc})"
            logger.error("run %s: could not record the verdict: %s", self.run_id, exc)
        # the stats dump is off in the cron log (crawler/logs.py); the figure worth keeping is the peak memory
        peak = self.crawler.stats.get_value("memusage/max") if self.crawler.stats else None
        logger.info("run %s: %s (exit %s, peak memory %s MB)", self.run_id, verdict.message, verdict.exit_status,
                    f"{peak / 2**20:.1f}" if peak else "unknown")
        self.db.close()
        self.db = None


def _capture(item: dict, source_id: str) -> Capture:
    return Capture(url=item["url"], final_url=item["final_url"], status=item["status"], headers=item["headers"],
                   body=item["body"], fetched_at=item["fetched_at"], source_id=source_id)


def _empty_reason(capture: Capture) -> str:
    """Why a fetched page gave no article: an anti-bot challenge served with 200 says so."""
    try:
        from pipelines.recheck import policy as recheck

        verdict = recheck.classify_response(capture.status, capture.headers, capture.body[:200_000],
                                            url=capture.url, final_url=capture.final_url)
    except Exception:  # classification is a nicety (module absent, odd bytes): the fact stays
        return "no article text"
    if verdict.state == recheck.CHALLENGE:
        return f"no article text: anti-bot challenge page ({verdict.detail or verdict.reason})"
    return "no article text"
