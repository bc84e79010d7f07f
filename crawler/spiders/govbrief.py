"""The one generic spider: every source is data (sources.yml), discovery rules live in crawler.discovery.

Request kinds (meta["kind"]): list (start URLs, pagination, column pages), sitemap, feed, article.
Only article responses become items: the pipeline stores the capture, processing extracts the
article later (pipelines/process). The spider never writes to the archive itself: it announces
frontier rows and failed requests through crawler/signals.py, and crawler/run.py writes them.

Incremental by construction: article URLs already archived are never requested again, list pages
are always re-read, and pagination stops at the first page that offers nothing new.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.sitemap import Sitemap
from twisted.internet.error import DNSLookupError
from twisted.python.failure import Failure

from crawler import signals as archive_signals
from crawler.discovery import canonical_url, looks_like_article_url, looks_like_list_url, parse_feed, parse_list_page
from crawler.scope import Scope
from crawler.sources import load_sources
from pipelines.extract.decode import decode_html
from pipelines.store import storage

try:  # Scrapy >= 2.13 reports failed resolutions as its own error, older versions as Twisted's
    from scrapy.exceptions import CannotResolveHostError

    _DNS_ERRORS: tuple[type[BaseException], ...] = (DNSLookupError, CannotResolveHostError)
except ImportError:  # pragma: no cover
    _DNS_ERRORS = (DNSLookupError,)


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
        spider.retry_runs = crawler.settings.getint("GOVBRIEF_RETRY_RUNS", 5)
        spider.retry_after_max = crawler.settings.getfloat("GOVBRIEF_RETRY_AFTER_MAX", 120.0)
        return spider

    def _announce(self, signal: object, **kwargs: Any) -> None:
        """Tell the run (crawler/run.py) what to remember in the archive."""
        self.crawler.signals.send_catch_log(signal=signal, **kwargs)

    # ------------------------------------------------------------------ start

    async def start(self) -> AsyncIterator[Any]:
        db = storage.open_db(self.db_path)
        storage.ensure_schema(db)
        retry: dict[str, set[str]] = {}
        resume_lists: dict[str, list[tuple[str, int]]] = {}
        rechecks: dict[str, list] = {}
        for source in self.sources.values():
            self.known[source.id] = storage.known_article_urls(db, source.id)
            retry[source.id] = storage.failed_urls(db, source.id, kind="article", max_runs=self.retry_runs)
            # what an earlier run scheduled but never finished (killed, or a budget ran out)
            frontier_articles, resume_lists[source.id] = storage.frontier_pending(db, source.id)
            retry[source.id] |= frontier_articles
            rechecks[source.id] = _due_rechecks(db, source.id) if self.recheck_enabled else []
        db.close()
        for source in self.sources.values():
            for url in source.start_urls:
                request = self._list_request(source.id, canonical_url(url), depth=0, remember=False)
                if request:
                    yield request
            for url, depth in resume_lists[source.id]:
                request = self._list_request(source.id, url, depth=depth)
                if request:
                    yield request
            for url in source.sitemap_urls:
                yield self._request(url, source.id, "sitemap", self.parse_sitemap)
            for url in source.feed_urls:
                yield self._request(url, source.id, "feed", self.parse_feed)
            for url in sorted(retry[source.id]):  # failed or unfinished last time: try again
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
        # dont_filter: the spider dedupes itself (scheduled_articles, seen_lists). Scrapy's dupe filter
        # would silently drop the second hop of a redirect loop (a -> b -> a): no errback, no record.
        # Unfiltered, the loop ends at REDIRECT_MAX_TIMES with an error that lands in fetch_errors.
        return scrapy.Request(url, callback=callback, errback=self.on_error, dont_filter=True,
                              meta={"source_id": source_id, "kind": kind, **meta})

    def _list_request(self, source_id: str, url: str, depth: int, remember: bool = True) -> scrapy.Request | None:
        source, seen = self.sources[source_id], self.seen_lists[source_id]
        if url in seen or not self.scopes[source_id].allows(url):
            return None
        if len(seen) >= source.max_pages:
            self.source_stats[source_id]["list_budget_exhausted"] += 1
            self._remember(source_id, "list", [url], depth)  # the next run goes on from here
            return None
        seen.add(url)
        if remember:  # start URLs are read every run anyway
            self._remember(source_id, "list", [url], depth)
        # list pages change between runs: always re-read them (never deduped against an old run)
        return self._request(url, source_id, "list", self.parse_list, depth=depth, frontier_url=url)

    def _remember(self, source_id: str, kind: str, urls: list[str], depth: int = 0) -> None:
        """Put scheduled URLs in the archive's frontier before they are requested (kill -9 safety)."""
        if urls:
            self._announce(archive_signals.frontier_add, source_id=source_id, kind=kind, urls=urls, depth=depth)

    def _remember_articles(self, source_id: str, requests: list[scrapy.Request]) -> list[scrapy.Request]:
        self._remember(source_id, "article", [r.url for r in requests if r.meta.get("kind") == "article"])
        return requests

    def _article_request(self, source_id: str, url: str, via: str) -> scrapy.Request | None:
        """A request for an article not archived yet (None if archived, scheduled or out of scope)."""
        stats = self.source_stats[source_id]
        stats["article_links"] += 1
        if url in self.known[source_id]:
            stats["articles_known"] += 1
            return None
        if url in self.scheduled_articles or not self.scopes[source_id].allows(url):
            return None
        if stats["articles_scheduled"] >= self.sources[source_id].max_articles:
            # Budget spent: the URL stays unknown, so the next run's lists offer it again.
            stats["article_budget_exhausted"] += 1
            return None
        self.scheduled_articles.add(url)
        stats["articles_scheduled"] += 1
        return self._request(url, source_id, "article", self.parse_article, via=via)

    # ------------------------------------------------------------------ callbacks

    def parse_list(self, response: Response):
        source_id, depth = response.meta["source_id"], response.meta.get("depth", 0)
        stats = self.source_stats[source_id]
        stats["list_ok"] += 1
        budget_before = stats["article_budget_exhausted"]
        requests = list(self._list_requests(response, source_id, depth)) if _is_html(response) else []
        yield from self._remember_articles(source_id, requests)
        frontier_url = response.meta.get("frontier_url")
        if frontier_url and stats["article_budget_exhausted"] == budget_before:
            # read to the end and nothing left for later: this page is done (else the next run re-reads it)
            self._announce(archive_signals.frontier_done, source_id=source_id, url=frontier_url)

    def _list_requests(self, response: Response, source_id: str, depth: int):
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
        except Exception as exc:  # lxml raises several types on garbage; a broken sitemap is one failure
            stats["sitemap_failed"] += 1
            self.logger.warning("unreadable sitemap %s", response.url)
            self.record_error(source_id, response.url, "sitemap", f"unreadable sitemap: {exc!r}"[:500],
                              response.status)
            return
        if sitemap.type not in ("urlset", "sitemapindex"):  # well-formed XML, but not a sitemap
            stats["sitemap_failed"] += 1
            self.record_error(source_id, response.url, "sitemap", f"not a sitemap (root <{sitemap.type}>)",
                              response.status)
            return
        stats["sitemap_ok"] += 1
        yield from self._remember_articles(source_id, list(self._sitemap_requests(response, sitemap, source_id)))

    def _sitemap_requests(self, response: Response, sitemap: Sitemap, source_id: str):
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
        if not links:
            self.record_error(source_id, response.url, "feed", "unreadable or empty feed", response.status)
        requests = [self._article_request(source_id, canonical_url(response.urljoin(href)), via=response.url)
                    for href in links]
        yield from self._remember_articles(source_id, [r for r in requests if r])

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
        reason, status, refused = _failure_reason(failure, self.retry_after_max)
        # Record the URL we asked for (what the next run retries), not the end of a redirect chain.
        url = request.meta.get("redirect_urls", [request.url])[0]
        if url != request.url:
            reason = f"{reason} (redirected to {request.url})"[:500]
        stats = self.source_stats.get(source_id, Counter())
        if refused:
            # robots.txt and scope refusals are our decisions, not failures of the site: recorded
            # (journalists may ask why a page is missing) but neither counted against the source's
            # health nor retried by URL (a list that links the page again is refused again).
            stats["refused"] += 1
            self.record_error(source_id, url, kind, reason, status)
            return
        stats[f"{kind}_failed"] += 1
        if kind == "list" and request.meta.get("frontier_url"):
            # a broken list page is recorded in fetch_errors; the chain starts again from page 1 next run
            self._announce(archive_signals.frontier_done, source_id=source_id, url=request.meta["frontier_url"])
        self.logger.warning("fetch failed (%s) %s: %s", kind, url, reason)
        self.crawler.stats.inc_value("govbrief/fetch_errors")
        self.record_error(source_id, url, kind, reason, status)

    def record_error(self, source_id: str | None, url: str, kind: str, reason: str, status: int | None) -> None:
        self._announce(archive_signals.fetch_failed, error={"source_id": source_id, "url": url, "kind": kind,
                                                            "reason": reason, "status": status})


def _failure_reason(failure: Failure, retry_after_max: float) -> tuple[str, int | None, bool]:
    """(reason for fetch_errors, HTTP status, whether this was our refusal rather than a failure)."""
    from crawler.middlewares import DNS_REFUSALS, OutOfScope, retry_after_seconds

    if failure.check(HttpError):
        response = failure.value.response
        reason = f"HTTP {response.status}"
        wait = retry_after_seconds(response.headers.get("Retry-After"))
        location = response.headers.get("Location", b"").decode("latin-1")
        if wait is not None and wait > retry_after_max:
            reason += f", Retry-After {wait:.0f} s exceeds the {retry_after_max:.0f} s cap: retried next run"
        elif 300 <= response.status < 400 and location:
            reason += f", redirect not followed: {location[:200]}"  # e.g. a non-http scheme
        elif response.status not in (429, 503):  # overload is not a challenge, whatever the body says
            challenge = _challenge(response)
            if challenge:
                reason += f", anti-bot challenge page ({challenge})"
        return reason, response.status, False
    if failure.check(OutOfScope):
        return f"refused: {failure.getErrorMessage()}"[:500], None, True
    if failure.check(IgnoreRequest):
        message = failure.getErrorMessage()
        if "robots.txt" in message:
            return "refused: forbidden by robots.txt", None, True
        # max redirections, DOWNLOAD_MAXSIZE exceeded while decompressing (gzip bomb) ...
        return f"ignored: {message}"[:500], None, False
    if failure.check(*_DNS_ERRORS):
        refusal = DNS_REFUSALS.get((urlsplit(failure.request.url).hostname or "").rstrip("."))
        if refusal:  # SafeResolver: the name resolves to a private, loopback or link-local address
            return refusal[:500], None, True
    return _exception_reason(failure), None, False


# Messages Scrapy leaves empty or buries in a list of nested failures.
_EMPTY_MESSAGES = {
    "ResponseDataLossError": "truncated body: the connection closed before Content-Length was reached",
    "DownloadCancelledError": "download cancelled: the body exceeded DOWNLOAD_MAXSIZE (or the run was stopping)",
}
_NESTED = re.compile(r"Failure ([\w.]+): ([^>]*)>")


def _exception_reason(failure: Failure) -> str:
    name, message = failure.type.__name__, failure.getErrorMessage().strip()
    nested = _NESTED.findall(message)
    if nested:  # "[<twisted.python.failure.Failure twisted.internet.error.ConnectionLost: ...>]"
        message = "; ".join(f"{kind.rsplit('.', 1)[-1]}: {text.strip()}" for kind, text in nested)
    if not message:
        message = _EMPTY_MESSAGES.get(name, "no details")
    return f"{name}: {message}"[:500]


def _challenge(response: Response) -> str | None:
    """The anti-bot challenge a refused response is, if pipelines.recheck.policy recognises one."""
    try:
        from pipelines.recheck import policy as recheck
    except ImportError:
        return None
    headers = {k.decode("latin-1"): b", ".join(v).decode("latin-1") for k, v in response.headers.items()}
    try:
        verdict = recheck.classify_response(response.status, headers, response.body[:200_000], url=response.url)
    except Exception:  # classification is a nicety; a failure of it must not hide the HTTP error
        return None
    return (verdict.detail or verdict.reason) if verdict.state == recheck.CHALLENGE else None


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
    """Known articles the recrawl policy wants checked this run (pipelines.recheck.policy decides)."""
    try:
        from pipelines.recheck import policy as recheck
    except ImportError:
        return []
    return recheck.due_for_recheck(db, source_id)


def _is_html(response: Response) -> bool:
    content_type = response.headers.get("Content-Type", b"").decode("latin-1").lower()
    return not content_type or "html" in content_type or "xml" in content_type
