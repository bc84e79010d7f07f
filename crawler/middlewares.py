"""Downloader middlewares: keep every request inside the sources' own scope."""

from __future__ import annotations

from urllib.parse import urlsplit

from scrapy import Request, Spider
from scrapy.exceptions import IgnoreRequest

from crawler.scope import scope_refusal


class SourceScopeMiddleware:
    """Refuse any request outside its source's origins, also after redirects.

    Redirected requests pass through process_request again, so a redirect to another host (or a
    non-http scheme, or an address no source names) is refused here before it is sent.
    """

    def __init__(self, crawler=None):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_request(self, request: Request, spider: Spider | None = None) -> None:
        spider = spider or (self.crawler.spider if self.crawler else None)
        scopes = getattr(spider, "scopes", None)
        if not scopes:
            return None
        if urlsplit(request.url).path == "/robots.txt" and "source_id" not in request.meta:
            # Scrapy's robots.txt request for an origin we crawl: allowed if any source covers it.
            if any(scope.allows(request.url) for scope in scopes.values()):
                return None
        reason = scope_refusal(request.url, scopes.get(request.meta.get("source_id")))
        if reason:
            if self.crawler and self.crawler.stats:
                self.crawler.stats.inc_value("govbrief/refused_out_of_scope")
            raise IgnoreRequest(f"out of scope ({reason}): {request.url}")
        return None
