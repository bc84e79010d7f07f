"""The Scrapy item pipeline: hands each capture to the run's archive writer (crawler/run.py).

Nothing else happens in the reactor thread: extraction and everything after it is processing
(pipelines/process), which runs in worker processes."""

from __future__ import annotations

from typing import Any

from crawler.run import ArchiveRun


class ArchivePipeline:
    def __init__(self, run: ArchiveRun) -> None:
        self.run = run

    @classmethod
    def from_crawler(cls, crawler: Any) -> ArchivePipeline:
        return cls(ArchiveRun.of(crawler))

    def process_item(self, item: dict, spider: Any = None) -> dict:
        return self.run.store_capture(item)
