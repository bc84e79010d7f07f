"""Scrapy components that keep the crawl safe on the real web.

- SourceScopeMiddleware: every request stays inside its source's origins, also after redirects.
- RetryAfterMiddleware: retries 5xx/429 politely, honouring Retry-After up to a cap.
- SafeResolver: a host NAME that resolves to a private, loopback or link-local address is refused
  (DNS rebinding, a government domain pointing into someone's intranet, cloud metadata).
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request, Spider
from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware as _ScrapyMetaRefreshMiddleware
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware as _ScrapyRobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse, Response
from scrapy.resolver import CachingThreadedResolver
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.response import get_meta_refresh
from twisted.internet.defer import Deferred
from twisted.internet.error import DNSLookupError

from crawler.scope import is_special_address, scope_refusal

logger = logging.getLogger(__name__)


class OutOfScope(IgnoreRequest):
    """A request the scope rules refuse: a decision of ours, never sent, not a failure of the site."""


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
            raise OutOfScope(f"out of scope ({reason}): {request.url}")
        return None


# ---------------------------------------------------------------------- Retry-After


def retry_after_seconds(value: bytes | str | None, now: datetime | None = None) -> float | None:
    """Seconds a Retry-After header asks us to wait (delta-seconds or HTTP-date); None if absent/invalid."""
    if value is None:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if not text:
        return None
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class RetryAfterMiddleware(RetryMiddleware):
    """Scrapy's retry, made polite: wait before retrying an overloaded server.

    - Retry-After within GOVBRIEF_RETRY_AFTER_MAX seconds: wait that long, then retry (RETRY_TIMES
      still bounds the attempts, so the total wait is bounded too).
    - Retry-After beyond the cap: give up for this run at once. The response becomes an HttpError,
      the URL lands in fetch_errors and the next run retries it; a cron run never sleeps for hours.
    - no Retry-After: exponential backoff from GOVBRIEF_RETRY_BACKOFF seconds (0 disables).
    The wait is a pause of that host's downloader slot (`pause_slot`): the retry goes back to the
    scheduler at once, the host gets no request until the pause ends, every other host goes on.
    Nothing sleeps in the middleware, so nothing else waits.
    """

    def __init__(self, settings: Any):
        super().__init__(settings)
        self.retry_after_max = settings.getfloat("GOVBRIEF_RETRY_AFTER_MAX", 120.0)
        self.backoff = settings.getfloat("GOVBRIEF_RETRY_BACKOFF", 1.0)
        self._paused_until: dict[str, float] = {}  # downloader slot key -> end of its pause (monotonic)

    async def process_response(self, request: Request, response: Response,
                               spider: Spider | None = None) -> Request | Response:
        if request.meta.get("dont_retry", False) or response.status not in self.retry_http_codes:
            return response
        wait = retry_after_seconds(response.headers.get("Retry-After"))
        if wait is not None and wait > self.retry_after_max:
            if self.crawler.stats:
                self.crawler.stats.inc_value("govbrief/retry_after_exceeded")
            logger.info("%s asks to retry after %.0f s (cap %.0f s): giving up until the next run",
                        request.url, wait, self.retry_after_max)
            return response
        retry = self._retry(request, f"HTTP {response.status}")
        if retry is None:
            return response
        if wait is None:
            wait = self.backoff * 2 ** (request.meta.get("retry_times", 0))
        if wait > 0:
            self.pause_slot(request, wait)
        return retry

    def pause_slot(self, request: Request, seconds: float) -> None:
        """No request to the host of `request` for `seconds`: its downloader slot stops dequeuing.

        Scrapy's downloader holds a slot's queue while `slot.latercall` is pending (that is how
        DOWNLOAD_DELAY works) and resumes it in `_latercall`; a longer pause replaces a shorter one."""
        from scrapy.utils.asyncio import call_later

        downloader = self.crawler.engine.downloader
        key = downloader.get_slot_key(request)
        slot = downloader.slots.get(key)
        if slot is None:
            return
        until = time.monotonic() + seconds
        if slot.latercall is not None:
            if self._paused_until.get(key, 0.0) >= until:
                return
            slot.latercall.cancel()
        slot.latercall = call_later(seconds, downloader._latercall, slot)
        self._paused_until[key] = until


# ---------------------------------------------------------------------- DNS

DNS_REFUSALS: dict[str, str] = {}  # host name -> why SafeResolver refused it (this process)


class SafeResolver(CachingThreadedResolver):
    """Scrapy's caching resolver, refusing names that resolve to special addresses.

    The scope check (crawler.scope) sees URLs, not addresses: www.x.gov.cn could resolve to
    10.0.0.5 or 169.254.169.254 (misconfiguration, DNS rebinding). Address literals pass through
    unchanged (the scope check decided on them), so a source that names 127.0.0.1:8080 explicitly
    still works; a host NAME that must resolve privately (an intranet deployment) is allowed by listing it
    in GOVBRIEF_PRIVATE_HOSTS. The check runs on every resolution, cached ones included, right
    before the connection is made, so there is no window between check and use.
    """

    def __init__(self, reactor: Any, cache_size: int, timeout: float, allowed: Sequence[str] = ()):
        super().__init__(reactor, cache_size, timeout)
        self.allowed = {name.lower().rstrip(".") for name in allowed}

    @classmethod
    def from_crawler(cls, crawler: Any, reactor: Any) -> SafeResolver:
        settings = crawler.settings
        cache_size = settings.getint("DNSCACHE_SIZE") if settings.getbool("DNSCACHE_ENABLED") else 0
        return cls(reactor, cache_size, settings.getfloat("DNS_TIMEOUT"),
                   settings.getlist("GOVBRIEF_PRIVATE_HOSTS"))

    def getHostByName(self, name: str, timeout: Sequence[int] = ()) -> Deferred[str]:  # noqa: N802 (Twisted API)
        deferred = super().getHostByName(name, timeout)
        deferred.addCallback(self._check, name)
        return deferred

    def _check(self, address: str, name: str) -> str:
        refusal = resolved_address_refusal(name, address, self.allowed)
        if refusal:
            # Twisted's name-resolver adapter turns any error into "no results for hostname lookup";
            # the spider's errback looks the real reason up here to record it.
            DNS_REFUSALS[name.lower().rstrip(".")] = refusal
            raise DNSLookupError(refusal)
        return address


def resolved_address_refusal(name: str, address: str, allowed: set[str] | frozenset[str] = frozenset()) -> str | None:
    """None when a connection to `address` (what `name` resolved to) is fine, else why not."""
    if name.lower().rstrip(".") in allowed or not is_special_address(address):
        return None
    if _is_ip_literal(name):
        return None  # an address literal: the URL scope check already decided (named by a source or refused)
    return (f"refused: {name} resolves to {address}, a private, loopback or link-local address "
            "(list the name in GOVBRIEF_PRIVATE_HOSTS if that is intended)")


def _is_ip_literal(name: str) -> bool:
    try:
        ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return False
    return True


# ---------------------------------------------------------------------- robots.txt


class RobotsTxtMiddleware(_ScrapyRobotsTxtMiddleware):
    """Scrapy's robots.txt middleware, with every request waiting for robots.txt getting the parser.

    In Scrapy 2.19 all requests that arrive while an origin's robots.txt is downloading await the same
    Deferred; under the asyncio reactor each await adds a callback returning None, so the third request
    on (the second waiter) sees no parser and is let through unchecked. Found when an article queued
    by a previous run (requested right at the start, next to the start pages) was fetched although
    robots.txt disallowed it. Each waiter here gets its own Deferred fed from the shared one."""

    async def robot_parser(self, request: Request):
        parser = self._parsers.get(urlparse_cached(request).netloc)
        if isinstance(parser, Deferred):
            waiter: Deferred = Deferred()

            def relay(result):
                waiter.callback(result)
                return result  # keep the result for the next waiter in the shared chain

            parser.addBoth(relay)
            return await maybe_deferred_to_future(waiter)
        return await super().robot_parser(request)


# ---------------------------------------------------------------------- meta refresh


# Scrapy looks for <meta http-equiv="refresh"> in the first 4,096 characters of the decoded page; no
# ASCII-compatible encoding spends more than 4 bytes on a character, so those characters lie inside the
# first 16 KiB, where the word itself must then appear as ASCII bytes.
META_REFRESH_WINDOW = 4 * 4096


def might_refresh(body: bytes) -> bool:
    """False when the page cannot hold a meta refresh: the word is absent from the bytes Scrapy reads.
    A body with NUL bytes (UTF-16/32, where the word is not ASCII) always counts as possible."""
    head = body[:META_REFRESH_WINDOW]
    return b"\0" in head or b"refresh" in head.lower()


class MetaRefreshMiddleware(_ScrapyMetaRefreshMiddleware):
    """Scrapy's meta-refresh redirect, except that a refresh to a non-HTTP URL (javascript:, mailto:,
    data:) is ignored and the page kept: Scrapy 2.19 builds the request first and raises ValueError
    ("Missing scheme"), which lost the page."""

    def process_response(self, request: Request, response: Response, spider: Spider | None = None):
        if isinstance(response, HtmlResponse) and not might_refresh(response.body):
            return response  # nothing to follow: Scrapy would decode the whole body to find that out
        if isinstance(response, HtmlResponse) and not request.meta.get("dont_redirect"):
            _, url = get_meta_refresh(response, ignore_tags=self._ignore_tags)
            if url and urlsplit(url).scheme.lower() not in ("http", "https"):
                return response
        return super().process_response(request, response)
