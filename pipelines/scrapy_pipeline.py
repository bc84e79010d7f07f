"""The Scrapy item pipeline: a thin wrapper over pipelines.archive and pipelines.storage."""

from __future__ import annotations

import logging
from collections import Counter

from scrapy import signals

from crawler.health import assess_run
from pipelines import storage
from pipelines.archive import archive_capture
from pipelines.storage import Capture

logger = logging.getLogger(__name__)


class ArchivePipeline:
    def __init__(self, crawler):
        self.crawler = crawler
        self.db = None
        self.run_id: int | None = None
        self.owns_run = False

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
        spider.run_id = self.run_id

    def process_item(self, item, spider=None):
        spider = spider or self.crawler.spider
        source = spider.sources[item["source_id"]]
        capture = Capture(url=item["url"], final_url=item["final_url"], status=item["status"],
                          headers=item["headers"], body=item["body"], fetched_at=item["fetched_at"],
                          source_id=source.id)
        stats = spider.source_stats[source.id]
        if item.get("kind") == "recheck":
            from pipelines import recheck

            try:
                outcome = recheck.apply_recheck(self.db, capture, region=source.region, run_id=self.run_id)
            except Exception as exc:  # a failed re-check must not drop the run or earlier work
                logger.exception("could not record re-check of %s", capture.url)
                spider.fetch_errors.append({"source_id": source.id, "url": capture.url, "kind": "recheck",
                                            "reason": f"recheck failed: {exc!r}"[:500], "status": capture.status})
                outcome = "failed"
            stats[f"recheck_{outcome}"] += 1
            self._flush_errors(spider)
            return {"url": capture.url, "recheck": outcome}
        try:
            archived = archive_capture(self.db, capture, region=source.region, run_id=self.run_id)
        except Exception as exc:  # one bad page must not stop the run or lose what is archived
            logger.exception("could not archive %s", capture.url)
            spider.fetch_errors.append({"source_id": source.id, "url": capture.url, "kind": "article",
                                        "reason": f"archive failed: {exc!r}"[:500], "status": capture.status})
            stats["article_failed"] += 1
            return {"url": capture.url, "archived": False}
        if archived.article_id is None:
            stats["articles_empty"] += 1
            spider.fetch_errors.append({"source_id": source.id, "url": capture.url, "kind": "article",
                                        "reason": "no article text", "status": capture.status})
        elif archived.created:
            stats["articles_new"] += 1
        self._flush_errors(spider)
        return {"url": capture.url, "article_id": archived.article_id, "created": archived.created}

    def _flush_errors(self, spider) -> None:
        if spider.fetch_errors:
            storage.record_fetch_errors(self.db, self.run_id, spider.fetch_errors)
            spider.fetch_errors.clear()

    def close_spider(self, spider=None):
        pass  # the run is finalised on spider_closed, which knows why the crawl ended

    def spider_closed(self, spider, reason):
        if self.db is None:
            return
        self._flush_errors(spider)
        verdict = assess_run(spider.source_stats, reason)
        totals = sum(spider.source_stats.values(), Counter())
        spider.verdict = verdict
        storage.finish_run(
            self.db, self.run_id, status=verdict.status, exit_status=verdict.exit_status,
            pages_fetched=totals["list_ok"] + totals["article_ok"] + totals["sitemap_ok"] + totals["feed_ok"],
            list_pages=totals["list_ok"], articles_new=totals["articles_new"],
            articles_known=totals["articles_known"],
            errors=sum(v for k, v in totals.items() if k.endswith("_failed")),
            message=verdict.message, stats={k: dict(v) for k, v in spider.source_stats.items()},
        )
        logger.info("run %s: %s (exit %s)", self.run_id, verdict.message, verdict.exit_status)
        self.db.close()
        self.db = None
