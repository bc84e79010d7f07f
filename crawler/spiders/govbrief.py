"""The one generic spider: every source is data (sources.yml), discovery rules live in crawler.discovery.

Request kinds (meta["kind"]): list (start URLs, pagination, column pages, iframes, Hanweb jpage POSTs),
robots (Sitemap: lines), sitemap, feed, article (and the later pages of a multi-page article), attachment.
Article and attachment responses become items; the pipeline stores the captures, processing extracts the
article later (pipelines/process).

What to visit lives in the archive's frontier (pipelines/store/frontier.py), written by the run
(crawler/run.py) when the spider announces it (crawler/signals.py): a list page is marked done in the
same transaction that queues its links,
a run starts from what is pending or due, and a source walks its whole backlog once before the
incremental stop (pagination ends at the first page with nothing new) applies. docs/crawling.md.
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
from crawler.discovery import (
    ListPage,
    article_page_links,
    canonical_url,
    looks_like_article_url,
    looks_like_list_url,
    parse_feed,
    parse_jpage_records,
    parse_list_page,
    sitemap_body,
    sitemaps_in_robots,
)
from crawler.scope import Scope
from crawler.sources import load_sources
from pipelines.attachments.store import known_attachment_urls
from pipelines.extract.decode import decode_html
from pipelines.store import frontier, migrations, storage

try:  # Scrapy >= 2.13 reports failed resolutions as its own error, older versions as Twisted's
    from scrapy.exceptions import CannotResolveHostError

    _DNS_ERRORS: tuple[type[BaseException], ...] = (DNSLookupError, CannotResolveHostError)
except ImportError:  # pragma: no cover
    _DNS_ERRORS = (DNSLookupError,)


# Scrapy fetches higher priorities first (equal ones last in, first out). What a column's pages link to
# (articles, their later pages, attachments) goes before more discovery: a column's first list page names
# every page of its pager (TRS createPageHTML, page-number links), and were those fetched first (LIFO: they
# are yielded last) a backlog's whole pager would be read before its first article, leaving processing
# with nothing to do meanwhile (a 5,000-article column: ~0.7 s of a core idle at the start) and an
# interrupted run with the oldest articles rather than the newest. Scale-out (crawler/redis_mode.py) puts
# discovery first instead: its queue is shared by many workers.
CONTENT_KINDS = ("article", "attachment")
CONTENT_PRIORITY = 10  # lists, sitemaps, feeds, robots.txt and re-checks keep Scrapy's default, 0


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
        spider.known_attachments: set[str] = set()
        spider.seen_sitemaps: dict[str, set[str]] = {s.id: set() for s in sources}
        spider.scheduled_attachments: set[str] = set()
        spider.attachment_maxsize = crawler.settings.getint("GOVBRIEF_ATTACHMENT_MAXSIZE", 20 * 1024 * 1024)
        spider.recheck_enabled = crawler.settings.getbool("GOVBRIEF_RECHECK", True)
        spider.retry_base_hours = crawler.settings.getfloat("GOVBRIEF_RETRY_BASE_HOURS", 20.0)
        spider.retry_after_max = crawler.settings.getfloat("GOVBRIEF_RETRY_AFTER_MAX", 120.0)
        # Scale-out worker (--redis): queue, seen-set, budgets and politeness shared through Redis,
        # see crawler/redis_mode.py. None for a local crawl.
        spider.shared = None
        if crawler.settings.get("GOVBRIEF_REDIS_URL"):
            from crawler import redis_mode

            spider.shared = redis_mode.shared_for(crawler)
        return spider

    def _announce(self, signal: object, **kwargs: Any) -> None:
        """Tell the run (crawler/run.py) what to remember in the archive."""
        self.crawler.signals.send_catch_log(signal=signal, **kwargs)

    # ------------------------------------------------------------------ start

    def _archive_view(self) -> tuple[dict[str, frontier.SourcePlan], dict[str, list]]:
        """(frontier plan, due re-checks) per source, read from the archive; fills self.known and
        self.known_attachments."""
        db = storage.open_db(self.db_path)
        migrations.ensure_schema(db)
        plans: dict[str, frontier.SourcePlan] = {}
        rechecks: dict[str, list] = {}
        for source in self.sources.values():
            # what earlier runs queued and did not finish (killed, budget spent, failed and due again)
            plans[source.id] = frontier.plan(db, source.id)
            self.known[source.id] = storage.known_article_urls(db, source.id) | plans[source.id].settled
            rechecks[source.id] = _due_rechecks(db, source.id) if self.recheck_enabled else []
        self.known_attachments = known_attachment_urls(db)
        db.close()
        return plans, rechecks

    async def start(self) -> AsyncIterator[Any]:
        # scale-out: what the archive knows comes through Redis (crawler/redis_mode.py)
        plans, rechecks = self.shared.archive_view(self) if self.shared else self._archive_view()
        self.plans = plans
        robots_origins: dict[str, list[str]] = {}
        claimed: set[str] = set()
        for source in self.sources.values():  # each origin's robots.txt read for the first source naming it
            for url in source.start_urls:
                parts = urlsplit(url)
                origin = f"{parts.scheme}://{parts.netloc}"
                if origin not in claimed:
                    claimed.add(origin)
                    robots_origins.setdefault(source.id, []).append(origin)
        for source in self.sources.values():
            plan = plans[source.id]
            for url in source.start_urls:
                request = self._list_request(source.id, frontier.QueuedList(canonical_url(url), 0, "start"))
                if request:
                    yield request
            for queued in plan.lists:  # the first pages not done: an interrupted walk goes on here
                request = self._list_request(source.id, queued)
                if request:
                    yield request
            for url in source.sitemap_urls:
                request = self._sitemap_request(source.id, url)
                if request:
                    yield request
            for origin in robots_origins.get(source.id, []):  # Sitemap: lines of robots.txt
                # optional: an unreachable robots.txt is not a failure of its own (the list pages say it)
                yield scrapy.Request(f"{origin}/robots.txt", callback=self.parse_robots, errback=self.ignore_failure,
                                     dont_filter=True, meta={"source_id": source.id, "kind": "robots",
                                                             "handle_httpstatus_all": True})
            for url in source.feed_urls:
                yield self._request(url, source.id, "feed", self.parse_feed)
            for url in plan.articles:  # queued, or failed and due for another try
                request = self._article_request(source.id, url, via="frontier")
                if request:
                    yield request
            for url, article_url, text in plan.attachments:
                request = self._attachment_request(source.id, url, article_url, text)
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
        # scale-out: filtered by the shared dupefilter instead (redirect hops pass it, see crawler/redis_mode.py)
        return scrapy.Request(url, callback=callback, errback=self.on_error, dont_filter=self.shared is None,
                              priority=CONTENT_PRIORITY if kind in CONTENT_KINDS else 0,
                              meta={"source_id": source_id, "kind": kind, **meta})

    def _list_request(self, source_id: str, queued: frontier.QueuedList) -> scrapy.Request | None:
        """A request for a list page (GET, or a POST for a Hanweb jpage record range)."""
        source, seen = self.sources[source_id], self.seen_lists[source_id]
        target = queued.request["url"] if queued.request else queued.url
        if queued.url in seen or not self.scopes[source_id].allows(target):
            return None
        if len(seen) >= source.max_pages:
            # budget spent: the page stays pending in the frontier, the next run goes on from here
            self.source_stats[source_id]["list_budget_exhausted"] += 1
            return None
        seen.add(queued.url)
        meta = {"depth": queued.depth, "frontier_url": queued.url, "via": queued.via, "queued": queued}
        if queued.request:
            return scrapy.FormRequest(target, formdata=[tuple(pair) for pair in queued.request["form"]],
                                      callback=self.parse_list, errback=self.on_error, dont_filter=True,
                                      meta={"source_id": source_id, "kind": "list", **meta})
        return self._request(target, source_id, "list", self.parse_list, **meta)

    def _announce(self, signal: object, **kwargs: Any) -> None:
        """Tell the run (crawler/run.py, or a scale-out worker) what to remember in the archive."""
        crawler = getattr(self, "crawler", None)
        if crawler is not None:
            crawler.signals.send_catch_log(signal=signal, **kwargs)

    def _write(self, function, *args, **kwargs) -> None:
        """A frontier write (pipelines/store/frontier.py), run by the run in order, batched, off the
        reactor thread. Nothing comes back: what to request next is decided from the run's plan."""
        self._announce(archive_signals.frontier_write, function=function, args=args, kwargs=kwargs)

    def _queue_articles(self, source_id: str, requests: list[scrapy.Request]) -> list[scrapy.Request]:
        """Put scheduled article URLs in the archive's frontier before they are requested (kill -9 safety)."""
        urls = [r.url for r in requests if r.meta.get("kind") == "article"]
        if urls:
            self._write(frontier.queue, source_id, articles=urls)
        return requests

    def _is_new(self, source_id: str, url: str) -> bool:
        return url not in self.known[source_id] and url not in self.scheduled_articles

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
            # Budget spent: the URL stays pending in the frontier for the next run.
            stats["article_budget_exhausted"] += 1
            return None
        self.scheduled_articles.add(url)
        stats["articles_scheduled"] += 1
        return self._request(url, source_id, "article", self.parse_article, via=via)

    # ------------------------------------------------------------------ callbacks

    def parse_list(self, response: Response):
        source_id, depth = response.meta["source_id"], response.meta.get("depth", 0)
        key, queued = response.meta.get("frontier_url") or canonical_url(response.url), response.meta.get("queued")
        stats = self.source_stats[source_id]
        stats["list_ok"] += 1
        page = self._read_list(response, source_id)
        walked = self.plans[source_id].walked if hasattr(self, "plans") else True
        new = [link.url for link in page.articles if self._is_new(source_id, link.url)
               and self.scopes[source_id].allows(link.url)]
        follow, reread = self._lists_to_follow(source_id, page, depth, walked, bool(new), queued)
        # One transaction: this page's links queued and the page marked done. Killed before it, the page
        # stays pending; after it, its links are queued (whatever happens to the requests below).
        self._write(frontier.list_processed, source_id, key, articles=new, lists=follow,
                    reread=reread, depth=depth, via=response.meta.get("via", "list"))
        for link in page.articles:
            request = self._article_request(source_id, link.url, via=response.url)
            if request:
                yield request
        # what the frontier holds back: pages done in an earlier run (unless read again on purpose) and
        # failed pages whose next try is not due yet
        plan = getattr(self, "plans", {}).get(source_id)
        held = ((plan.done_lists - set(reread)) | plan.held_lists) if plan is not None else set()
        for item in follow:
            if item.url not in held:
                request = self._list_request(source_id, item)
                if request:
                    yield request

    def ignore_failure(self, failure: Failure) -> None:
        """Errback of optional requests (robots.txt for its Sitemap: lines): a method, so the request
        can be serialised into the shared queue of scale-out workers."""
        return None

    def _read_list(self, response: Response, source_id: str) -> ListPage:
        if response.meta.get("via") == "jpage":  # a data-proxy answer: XML records, nothing else
            return ListPage(articles=parse_jpage_records(response.text if hasattr(response, "text") else
                                                         response.body.decode("utf-8", "replace"), response.url))
        html = _html_of(response)
        if html is None:
            return ListPage()
        return parse_list_page(html, response.url, article_pattern=self.article_patterns[source_id],
                               list_pattern=self.list_patterns[source_id])

    def _lists_to_follow(self, source_id: str, page: ListPage, depth: int, walked: bool, has_new: bool,
                         queued: frontier.QueuedList | None) -> tuple[list[frontier.QueuedList], list[str]]:
        """Which list pages this page leads to, and which of them to read again although done.

        Backlog not walked yet: every page of the pager (all named pages, all jpage record ranges), so a
        walk cut short anywhere resumes at the first page not done. Walked: only the next page, and only
        when this page offered something new (incremental stop)."""
        seen = self.seen_lists[source_id]
        follow: list[frontier.QueuedList] = []
        posts = [frontier.QueuedList(p.key, depth, "jpage", {"url": p.url, "form": [list(f) for f in p.form]})
                 for p in page.posts]
        if queued is not None and queued.request and queued.request.get("rest"):
            posts = [frontier.QueuedList(r["key"], depth, "jpage", {**r, "rest": []})
                     for r in queued.request["rest"]]
        if not walked:
            follow += [frontier.QueuedList(url, depth, "pager") for url in page.pagination]
            follow += posts
        elif has_new:
            if page.next_page and page.next_page not in seen:
                follow.append(frontier.QueuedList(page.next_page, depth, "pager"))
            if posts:  # one record range at a time; the rest rides along in the frontier row
                first, rest = posts[0], posts[1:]
                first.request = {**first.request, "rest": [{"key": r.url, **r.request} for r in rest]}
                follow.append(first)
        follow += [frontier.QueuedList(url, depth, "frame") for url in page.frames]
        # Column pages reached from a page that lists articles; pages without any article link
        # (calendars, search forms, link traps) are dead ends.
        if page.articles and depth < self.sources[source_id].max_depth:
            follow += [frontier.QueuedList(url, depth + 1, "list") for url in page.lists]
        follow = [q for q in follow if q.url not in seen]
        reread = [q.url for q in follow if walked]  # incremental: lists change, read them again
        return follow, reread

    def parse_robots(self, response: Response):
        """robots.txt of a source's origin: its `Sitemap:` lines are sitemaps of the source."""
        source_id = response.meta["source_id"]
        if response.status != 200:
            return
        for url in sitemaps_in_robots(response.body, response.url):
            request = self._sitemap_request(source_id, url)
            if request:
                yield request

    def _sitemap_request(self, source_id: str, url: str, lastmod: str | None = None) -> scrapy.Request | None:
        """A sitemap to read, unless it was read with this <lastmod> already (then nothing in it changed)."""
        url = canonical_url(url)
        if url in self.seen_sitemaps[source_id] or not self.scopes[source_id].allows(url):
            return None
        self.seen_sitemaps[source_id].add(url)
        if lastmod and self.plans[source_id].sitemap_lastmods.get(url) == lastmod:
            self.source_stats[source_id]["sitemap_unchanged"] += 1
            return None
        return self._request(url, source_id, "sitemap", self.parse_sitemap, lastmod=lastmod, frontier_url=url)

    def parse_sitemap(self, response: Response):
        source_id = response.meta["source_id"]
        stats = self.source_stats[source_id]
        try:
            sitemap = Sitemap(sitemap_body(response.body, self.settings.getint("DOWNLOAD_MAXSIZE")))
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
        requests = list(self._sitemap_requests(response, sitemap, source_id))
        articles = [r.url for r in requests if r.meta.get("kind") == "article"]
        # its articles queued and the sitemap remembered with its <lastmod>, in one transaction
        self._write(frontier.sitemap_processed, source_id, response.meta.get("frontier_url") or response.url,
                    response.meta.get("lastmod"), articles)
        yield from requests

    def _sitemap_requests(self, response: Response, sitemap: Sitemap, source_id: str):
        for entry in sitemap:
            url = canonical_url(response.urljoin(entry.get("loc", "")))
            if sitemap.type == "sitemapindex":
                request = self._sitemap_request(source_id, url, (entry.get("lastmod") or "").strip() or None)
                if request:
                    yield request
            elif looks_like_list_url(url, self.list_patterns[source_id]) and not looks_like_article_url(
                    url, self.article_patterns[source_id]):
                request = self._list_request(source_id, frontier.QueuedList(url, 1, "sitemap"))
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
        yield from self._queue_articles(source_id, [r for r in requests if r])

    def parse_article(self, response: Response):
        """An article page: archived as one item; an article split over pages (t…_1.html …) waits until
        its last page is fetched and becomes one item with its parts; attachments are requested."""
        source_id = response.meta["source_id"]
        item = _capture_item(response, "article")
        article_url = response.meta.get("article_url")
        # decoded and parsed only when its bytes allow an attachment or a part (on real pages, 5 ms of the
        # reactor's time each when it was done for every page)
        attachments, parts = article_page_links(response.body, response.url, lambda: _html_of(response),
                                                first_page=article_url is None)
        for link in attachments:
            request = self._attachment_request(source_id, link.url, article_url or item["url"], link.text)
            if request:
                yield request
        if article_url is None:  # the article's first page
            self.source_stats[source_id]["article_ok"] += 1
            if not parts:
                yield item
                return
            yield self._part_request(source_id, item, parts)
            return
        collected = response.meta["collected"]
        item = {**collected[0], "parts": [*collected[0].get("parts", []), item]}
        rest = response.meta["rest"]
        if rest:
            yield self._part_request(source_id, item, rest)
        else:
            yield item

    def _part_request(self, source_id: str, item: dict, parts: list[str]) -> scrapy.Request:
        """The next page of a multi-page article; the pages so far ride along (a failure fails the article)."""
        return self._request(parts[0], source_id, "article", self.parse_article, article_url=item["url"],
                             collected=[item], rest=parts[1:], frontier_url=item["url"])

    def _attachment_request(self, source_id: str, url: str, article_url: str, text: str) -> scrapy.Request | None:
        if url in self.known_attachments or url in self.scheduled_attachments or not self.scopes[source_id].allows(url):
            return None
        self.scheduled_attachments.add(url)
        self._write(frontier.queue_attachment, source_id, url, article_url, text)
        return self._request(url, source_id, "attachment", self.parse_attachment, article_url=article_url,
                             link_text=text, frontier_url=url, download_maxsize=self.attachment_maxsize)

    def parse_attachment(self, response: Response):
        self.source_stats[response.meta["source_id"]]["attachment_ok"] += 1
        yield {**_capture_item(response, "attachment"), "article_url": response.meta["article_url"],
               "link_text": response.meta.get("link_text") or ""}

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
            if kind in ("list", "article", "attachment") and source_id:  # out of the queue; retried on a backoff
                self._write(frontier.mark_failed, source_id, request.meta.get("frontier_url") or url, kind, reason,
                            permanent=True, base_hours=self.retry_base_hours)
            self.record_error(source_id, url, kind, reason, status, category="refused")
            return
        key = request.meta.get("frontier_url") or url
        if kind in ("list", "article", "attachment") and source_id:
            # failed with a next try: a list page is never marked done by a failure (its backlog waits)
            known_dead = key in self.plans[source_id].failed_before if hasattr(self, "plans") else False
            self._write(frontier.mark_failed, source_id, key, kind, reason, permanent=_permanent(status),
                        base_hours=self.retry_base_hours, depth=request.meta.get("depth", 0))
            if known_dead:  # failed before and still failing: on a backoff, not news
                stats[f"{kind}_dead_retry_failed"] += 1
                self.record_error(source_id, url, kind, reason, status, category="known_dead")
                return
        stats[f"{kind}_failed"] += 1
        self.logger.warning("fetch failed (%s) %s: %s", kind, url, reason)
        self.crawler.stats.inc_value("govbrief/fetch_errors")
        self.record_error(source_id, url, kind, reason, status, category="new")

    def record_error(self, source_id: str | None, url: str, kind: str, reason: str, status: int | None,
                     category: str | None = None) -> None:
        error = {"source_id": source_id, "url": url, "kind": kind, "reason": reason, "status": status}
        if category:
            error["category"] = category
        self._announce(archive_signals.fetch_failed, error=error)


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


def _permanent(status: int | None) -> bool:
    """A failure that will not heal by tomorrow (gone, forbidden): backed off from the first time."""
    return status in (401, 403, 404, 410, 451)


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


def _html_of(response: Response) -> str | None:
    """The decoded HTML of a response, None when it is not HTML (a PDF, an image …)."""
    if not _is_html(response):
        return None
    return decode_html(response.body, response.headers.get("Content-Type", b"").decode("latin-1"))[0]


def _is_html(response: Response) -> bool:
    content_type = response.headers.get("Content-Type", b"").decode("latin-1").lower()
    return not content_type or "html" in content_type or "xml" in content_type
