"""The one generic spider: every source is data (sources.yml), discovery rules live in crawler.discovery.

Request kinds (meta["kind"]): list (start URLs, pagination, column pages), sitemap, feed, article.
Only article responses become items; the pipeline stores the capture and extracts the article.

Incremental by construction: article URLs already archived are never requested again, list pages
are always re-read, and pagination stops at the first page that offers nothing new.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import scrapy
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.sitemap import Sitemap
from twisted.python.failure import Failure

from crawler.discovery import canonical_url, looks_like_article_url, looks_like_list_url, parse_feed, parse_list_page
from crawler.scope import Scope
from crawler.sources import load_sources
from pipelines import storage
from pipelines.decode import decode_html


class GovSpider(scrapy.Spider):
    name = "govbrief"

    def __init__(self, sources: str | None = None, only: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.sources_path = sources
        self.only = {s for s in (only or "").split(",") if s}

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.sources_path = spider.sources_path or crawler.settings.get("GOVBRIEF_SOURCES")
        spider.db_path = crawler.settings.get("GOVBRIEF_DB")
        sources = load_sources(spider.sources_path)
        if spider.only:
            unknown = spider.only - {s.id for s in sources}
            if unknown:
                raise ValueError(f"unknown source id(s): {', '.join(sorted(unknown))}")
            sources = [s for s in sources if s.id in spider.only]
        spider.sources = {s.id: s for s in sources}
        spider.scopes = {s.id: Scope.for_source(s) for s in sources}
        spider.article_patterns = {s.id: re.compile(s.article_url_pattern) if s.article_url_pattern else None
                                   for s in sources}
        spider.list_patterns = {s.id: re.compile(s.list_url_pattern) if s.list_url_pattern else None
                                for s in sources}
        spider.source_stats = {s.id: Counter() for s in sources}
        spider.known: dict[str, set[str]] = {}
        spider.scheduled_articles: set[str] = set()
        spider.seen_lists: dict[str, set[str]] = {s.id: set() for s in sources}
        spider.recheck_enabled = crawler.settings.getbool("GOVBRIEF_RECHECK", True)
        return spider

    # ------------------------------------------------------------------ start

    async def start(self) -> AsyncIterator[Any]:
        db = storage.open_db(self.db_path)
        storage.ensure_schema(db)
        retry: dict[str, set[str]] = {}
        rechecks: dict[str, list] = {}
        for source in self.sources.values():
            self.known[source.id] = storage.known_article_urls(db, source.id)
            retry[source.id] = storage.failed_urls(db, source.id, kind="article")
            rechecks[source.id] = _due_rechecks(db, source.id) if self.recheck_enabled else []
        db.close()
        for source in self.sources.values():
            for url in source.start_urls:
                request = self._list_request(source.id, canonical_url(url), depth=0)
                if request:
                    yield request
            for url in source.sitemap_urls:
                yield self._request(url, source.id, "sitemap", self.parse_sitemap)
            for url in source.feed_urls:
                yield self._request(url, source.id, "feed", self.parse_feed)
            for url in sorted(retry[source.id]):  # failed last time: try again
                request = self._article_request(source.id, url, via="retry")
                if request:
                    yield request
            for target in rechecks[source.id]:  # known articles due for a check: changed? deleted?
                if self.scopes[source.id].allows(target.url):
                    yield scrapy.Request(
                        target.url, callback=self.parse_recheck, errback=self.on_error,
                        headers=target.conditional_headers(), dont_filter=True,
                        meta={"source_id": source.id, "kind": "recheck", "handle_httpstatus_all": True},
                    )

    # ------------------------------------------------------------------ requests

    def _request(self, url: str, source_id: str, kind: str, callback, **meta: Any) -> scrapy.Request:
        return scrapy.Request(url, callback=callback, errback=self.on_error,
                              meta={"source_id": source_id, "kind": kind, **meta})

    def _list_request(self, source_id: str, url: str, depth: int) -> scrapy.Request | None:
        source, seen = self.sources[source_id], self.seen_lists[source_id]
        if url in seen or not self.scopes[source_id].allows(url):
            return None
        if len(seen) >= source.max_pages:
            self.source_stats[source_id]["list_budget_exhausted"] += 1
            return None
        seen.add(url)
        # list pages change between runs: always re-read them, never dedupe against an old run
        request = self._request(url, source_id, "list", self.parse_list, depth=depth)
        return request.replace(dont_filter=True)

    def _article_request(self, source_id: str, url: str, via: str) -> scrapy.Request | None:
        """A request for an article not archived yet (None if archived, scheduled or out of scope)."""
        stats = self.source_stats[source_id]
        stats["article_links"] += 1
        if url in self.known[source_id]:
            stats["articles_known"] += 1
            return None
        if url in self.scheduled_articles or not self.scopes[source_id].allows(url):
            return None
        self.scheduled_articles.add(url)
        stats["articles_scheduled"] += 1
        return self._request(url, source_id, "article", self.parse_article, via=via)

    # ------------------------------------------------------------------ callbacks

    def parse_list(self, response: Response):
        source_id, depth = response.meta["source_id"], response.meta.get("depth", 0)
        stats = self.source_stats[source_id]
        stats["list_ok"] += 1
        if not _is_html(response):
            return
        html, _ = decode_html(response.body, response.headers.get("Content-Type", b"").decode("latin-1"))
        page = parse_list_page(html, response.url, article_pattern=self.article_patterns[source_id],
                               list_pattern=self.list_patterns[source_id])
        new = 0
        for link in page.articles:
            request = self._article_request(source_id, link.url, via=response.url)
            if request:
                new += 1
                yield request
        # Incremental stop: a page that offers nothing new ends its pagination chain.
        if new:
            for url in page.pagination:
                if url not in self.seen_lists[source_id]:
                    request = self._list_request(source_id, url, depth)
                    if request:
                        yield request
                    break  # one page at a time, so the chain can stop early
        # Column pages reached from a page that lists articles; pages without any article link
        # (calendars, search forms, link traps) are dead ends.
        if page.articles and depth < self.sources[source_id].max_depth:
            for url in page.lists:
                request = self._list_request(source_id, url, depth + 1)
                if request:
                    yield request

    def parse_sitemap(self, response: Response):
        source_id = response.meta["source_id"]
        stats = self.source_stats[source_id]
        try:
            sitemap = Sitemap(response.body)
        except Exception:  # lxml raises several types on garbage; a broken sitemap is one failure
            stats["sitemap_failed"] += 1
            self.logger.warning("unreadable sitemap %s", response.url)
            return
        stats["sitemap_ok"] += 1
        for entry in sitemap:
            url = canonical_url(response.urljoin(entry.get("loc", "")))
            if sitemap.type == "sitemapindex":
                if self.scopes[source_id].allows(url):
                    yield self._request(url, source_id, "sitemap", self.parse_sitemap)
            elif looks_like_list_url(url, self.list_patterns[source_id]) and not looks_like_article_url(
                    url, self.article_patterns[source_id]):
                request = self._list_request(source_id, url, depth=1)
                if request:
                    yield request
            else:  # a sitemap lists content pages: treat what is not a list as an article
                request = self._article_request(source_id, url, via=response.url)
                if request:
                    yield request

    def parse_feed(self, response: Response):
        source_id = response.meta["source_id"]
        links = parse_feed(response.body)
        self.source_stats[source_id]["feed_ok" if links else "feed_failed"] += 1
        for href in links:
            request = self._article_request(source_id, canonical_url(response.urljoin(href)), via=response.url)
            if request:
                yield request

    def parse_article(self, response: Response):
        self.source_stats[response.meta["source_id"]]["article_ok"] += 1
        yield _capture_item(response, "article")

    def parse_recheck(self, response: Response):
        """Any status comes here (404, 410, 412, 304 …): the pipeline decides what it means."""
        self.source_stats[response.meta["source_id"]]["rechecked"] += 1
        yield _capture_item(response, "recheck")


    def on_error(self, failure: Failure):
        request = failure.request
        source_id, kind = request.meta.get("source_id"), request.meta.get("kind", "list")
        if failure.check(IgnoreRequest) and not failure.check(HttpError):
            # robots.txt or scope refusals are decisions, not failures of the site
            self.source_stats.get(source_id, Counter())["refused"] += 1
            return
        status = failure.value.response.status if failure.check(HttpError) else None
        reason = f"HTTP {status}" if status else f"{failure.type.__name__}: {failure.getErrorMessage()}"[:500]
        if source_id in self.source_stats:
            self.source_stats[source_id][f"{kind}_failed"] += 1
        self.logger.warning("fetch failed (%s) %s: %s", kind, request.url, reason)
        self.crawler.stats.inc_value("govbrief/fetch_errors")
        errors = getattr(self, "fetch_errors", None)
        if errors is not None:
            errors.append({"source_id": source_id, "url": request.url, "kind": kind, "reason": reason,
                           "status": status})


def _capture_item(response: Response, kind: str) -> dict:
    """Everything the archive keeps of a response: it is evidence, extraction comes later."""
    headers = {k.decode("latin-1"): b", ".join(v).decode("latin-1") for k, v in response.headers.items()}
    return {
        "kind": kind,
        "source_id": response.meta["source_id"],
        "url": response.request.meta.get("redirect_urls", [response.url])[0],
        "final_url": response.url,
        "status": response.status,
        "headers": headers,
        "body": response.body,
        "fetched_at": datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
    }


def _due_rechecks(db, source_id: str) -> list:
    """Known articles the recrawl policy wants checked this run (pipelines.recheck decides)."""
    try:
        from pipelines import recheck
    except ImportError:
        return []
    return recheck.due_for_recheck(db, source_id)


def _is_html(response: Response) -> bool:
    content_type = response.headers.get("Content-Type", b"").decode("latin-1").lower()
    return not content_type or "html" in content_type or "xml" in content_type
