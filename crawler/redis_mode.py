"""Scale-out on scrapy-redis: the Scrapy side of a crawl worker (`govbrief crawl --redis URL`).

Many workers on many machines share, through one Redis (state layout: pipelines/scaleout/state.py):
- the request queue and seen-set: scrapy-redis' Scheduler and RFPDupeFilter, subclassed so that
  * a popped request sits in the worker's in-flight hash until Scrapy is completely done with it
    (callback or errback run, its new requests and items handed on); a worker that dies (heartbeat
    expired) has its in-flight requests put back by the next worker or `govbrief process` that looks;
  * fingerprints are the canonical URL key (pipelines.urls.canonical_url); article URLs are claimed
    for good (fetched once, ever), list pages, sitemaps and feeds once per run; redirect hops are never
    filtered (a loop must end at REDIRECT_MAX_TIMES with an error, not vanish);
  * claiming also counts the per-source, per-run budgets (max_articles, max_pages) across all workers;
- per-source counters (the run verdict) and the run itself (joined or started by each worker, declared
  finished once the queue is empty, no worker holds a request and no worker is still starting);
- per-host politeness: before a request is sent the worker reserves a start time for its host in
  Redis, one download delay after the previous reservation of any worker, so N workers together keep
  to one worker's rate per host.
Without --db a worker pushes its captures, fetch errors, frontier rows and run record to the capture
queue (pipelines/scaleout/captures.py) for `govbrief process`; with --db it writes locally as usual.

Requests travel as JSON (bytes tagged base64), never pickle: whoever can write to a shared Redis must not
be able to run code in every worker. Why scrapy-redis 0.9.1 and what is overridden: docs/scale-out.md.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import random
import secrets
import socket
from collections import Counter
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request, signals
from scrapy.exceptions import CloseSpider, DontCloseSpider, NotConfigured
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.queue import PriorityQueue
from scrapy_redis.scheduler import Scheduler

from crawler import signals as archive_signals
from crawler.health import assess_run
from pipelines.scaleout import captures
from pipelines.scaleout.state import SharedState, connect, url_fingerprint
from pipelines.store.frontier import QueuedList, SourcePlan
from pipelines.store.storage import utc_now

logger = logging.getLogger(__name__)

# Seconds without a heartbeat after which a worker counts as dead (its requests are put back). The heartbeat
# runs in the reactor, so a worker whose reactor is busy longer than this (a huge sitemap: one Redis round
# trip per link) is taken for dead; the cost is a few requests fetched twice, never one lost.
HEARTBEAT_TTL = 60
IDLE_POLL_S = 0.25  # an idle worker looks for new requests (pushed by others) this often
FINISH_CHECK_S = 0.5
DISCOVERY = ("list", "sitemap", "feed")
# Above articles' own priority (crawler/spiders/govbrief.py CONTENT_PRIORITY: articles first on one
# machine): with a queue shared by many workers, lists are read early so that every worker has articles.
DISCOVERY_PRIORITY = 100


def configure(settings: Any, redis_url: str, *, local_archive: bool) -> None:
    """Turn a project Settings object into a scale-out worker's (called by `govbrief crawl --redis`)."""
    settings.set("GOVBRIEF_REDIS_URL", redis_url, priority="cmdline")
    settings.set("REDIS_URL", redis_url, priority="cmdline")
    settings.set("SCHEDULER", "crawler.redis_mode.SharedScheduler", priority="cmdline")
    settings.set("DUPEFILTER_CLASS", "crawler.redis_mode.CanonicalUrlDupeFilter", priority="cmdline")
    settings.set("SCHEDULER_PERSIST", True, priority="cmdline")  # the queue belongs to every worker
    settings.set("SCHEDULER_QUEUE_CLASS", "crawler.redis_mode.SharedPriorityQueue", priority="cmdline")
    settings.set("SCHEDULER_QUEUE_KEY", "govbrief:requests", priority="cmdline")
    settings.set("SCHEDULER_SERIALIZER", "crawler.redis_mode", priority="cmdline")
    middlewares = dict(settings.getdict("DOWNLOADER_MIDDLEWARES"))
    middlewares["crawler.redis_mode.SharedPolitenessMiddleware"] = 900  # after scope/robots refused what they refuse
    settings.set("DOWNLOADER_MIDDLEWARES", middlewares, priority="cmdline")
    extensions = dict(settings.getdict("EXTENSIONS"))
    extensions["crawler.redis_mode.RedisWorkerExtension"] = 100
    settings.set("EXTENSIONS", extensions, priority="cmdline")
    if not local_archive:
        # no archive here: captures, frontier writes and failures go to the queue instead of crawler.run
        settings.set("ITEM_PIPELINES", {"crawler.redis_mode.CaptureQueuePipeline": 300}, priority="cmdline")
        extensions.pop("crawler.run.ArchiveRun", None)
        settings.set("EXTENSIONS", extensions, priority="cmdline")


# ---------------------------------------------------------------- serializer (SCHEDULER_SERIALIZER)


def _pack(value: Any) -> Any:
    if isinstance(value, bytes):
        return {"__b": base64.b64encode(value).decode("ascii")}
    if isinstance(value, QueuedList):  # a list page's frontier entry in its request's meta
        return {"__q": value.as_list()}
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value):
            return {k: _pack(v) for k, v in value.items()}
        return {"__d": [[_pack(k), _pack(v)] for k, v in value.items()]}
    if isinstance(value, list | tuple):
        return [_pack(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise TypeError(f"cannot share a request holding a {type(value).__name__} ({value!r:.80}) through Redis")


def _unpack(value: Any) -> Any:
    if isinstance(value, dict):
        if "__b" in value and len(value) == 1:
            return base64.b64decode(value["__b"])
        if "__d" in value and len(value) == 1:
            return {_unpack(k): _unpack(v) for k, v in value["__d"]}
        if "__q" in value and len(value) == 1:
            return QueuedList(*value["__q"])
        return {k: _unpack(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unpack(v) for v in value]
    return value


def dumps(request_dict: dict) -> bytes:
    return json.dumps(_pack(request_dict), ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def loads(data: bytes) -> dict:
    return _unpack(json.loads(data))


# ---------------------------------------------------------------- the worker's shared state


class SharedKnown:
    """Stands in for the spider's set of archived article URLs: the shared seen-set (archived or
    requested by any worker), except the URLs this worker was asked to fetch again (retries)."""

    def __init__(self, state: SharedState, exempt: set[str]):
        self.state = state
        self.exempt = exempt

    def __contains__(self, url: object) -> bool:
        return isinstance(url, str) and url not in self.exempt and self.state.article_seen(url)


class Worker:
    """This process in the shared crawl: its id, the run it joined, its in-flight requests."""

    def __init__(self, crawler: Any):
        settings = crawler.settings
        self.state = SharedState(connect(settings.get("GOVBRIEF_REDIS_URL")))
        self.ttl = settings.getint("GOVBRIEF_REDIS_HEARTBEAT_TTL", HEARTBEAT_TTL)
        self.id = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self.local_archive = bool(settings.get("GOVBRIEF_DB"))
        self.run_id, self.created = self.state.join_run(self.id, self.ttl, utc_now())
        self.tokens: dict[Request, int] = {}
        self.flushed: dict[str, Counter] = {}
        self.finished = False
        self.state_lost = False
        self.left = False
        logger.info("worker %s %s run %s", self.id, "started" if self.created else "joined", self.run_id)

    def archive_view(self, spider: Any) -> tuple[dict, dict]:
        """(frontier plan, re-checks) per source for the spider's start(), as the archive says.

        With --db the spider reads them from the archive; without, from what `govbrief process`
        published. Only the worker that started the run schedules them (the others would only be
        deduplicated); every worker sends the start URLs (claimed once per run). A worker without the
        archive does not know whether a source's backlog was walked to the end once, so it walks the
        lists to the end (within max_pages): complete rather than incremental."""
        if self.local_archive:
            plans, rechecks = spider._archive_view()
        else:
            plans, rechecks = {}, {}
            for source_id in spider.sources:
                seeds = self.state.resume_for(source_id)
                plans[source_id] = SourcePlan(
                    walked=False, articles=list(seeds["articles"]),
                    lists=[QueuedList(url, int(depth), "resume") for url, depth in seeds["lists"]])
                rechecks[source_id] = []
        if not self.created:
            plans = {s: SourcePlan(walked=plans[s].walked) for s in spider.sources}
            rechecks = {s: [] for s in spider.sources}
        for source_id in spider.sources:
            spider.known[source_id] = SharedKnown(self.state, set(plans[source_id].articles))
        return plans, rechecks

    def stats_delta(self, spider: Any) -> dict[str, dict[str, int]]:
        delta = {}
        for source_id, stats in spider.source_stats.items():
            flushed = self.flushed.setdefault(source_id, Counter())
            changed = {k: v - flushed[k] for k, v in stats.items() if v != flushed[k]}
            if changed:
                delta[source_id] = changed
                flushed.update(changed)
        return delta

    def request_done(self, spider: Any, request: Request) -> None:
        token = self.tokens.pop(request, None)
        if token is not None:
            self.state.finish_request(self.id, token, self.run_id, self.stats_delta(spider))

    def flush_stats(self, spider: Any) -> None:
        delta = self.stats_delta(spider)
        if delta:
            self.state.finish_request(self.id, 0, self.run_id, delta)

    def leave(self) -> None:
        if not self.left:
            self.left = True
            put_back = self.state.leave(self.id, requeue=not self.state_lost)
            if put_back:
                logger.info("worker %s: %s unfinished requests put back in the shared queue", self.id, put_back)


def shared_for(crawler: Any) -> Worker:
    """The crawler's Worker (created once: the spider, scheduler, filter and extension share it)."""
    worker = getattr(crawler, "_govbrief_worker", None)
    if worker is None:
        worker = Worker(crawler)
        crawler._govbrief_worker = worker
    return worker


# ---------------------------------------------------------------- scheduler and dupefilter


class SharedPriorityQueue(PriorityQueue):
    """scrapy-redis' priority queue (a sorted set), with equal priorities popped in random order.

    Plain equal scores pop in byte order, i.e. grouped by URL and so by host: a worker would take eight
    requests for one host and wait out that host's delay eight times while its other hosts idle (Scrapy's
    own scheduler avoids this by picking the least busy download slot). A random fraction in the score
    interleaves hosts; priorities are integers, so the fraction never reorders them."""

    def entry(self, request: Request) -> tuple[float, bytes]:
        """(score, encoded request): what push adds, for a caller that adds it inside a claim."""
        return -request.priority + random.random() * 0.5, self._encode_request(request)

    def add(self, entry: tuple[float, bytes]) -> None:
        self.server.execute_command("ZADD", self.key, *entry)

    def push(self, request: Request) -> None:
        self.add(self.entry(request))


class SharedScheduler(Scheduler):
    """scrapy-redis' Scheduler with a reliable pop: the request moves atomically from the shared queue
    to this worker's in-flight hash and leaves it when Scrapy is done with it (RedisWorkerExtension)."""

    def open(self, spider: Any) -> None:
        self.worker = shared_for(spider.crawler)
        return super().open(spider)

    def enqueue_request(self, request: Request) -> bool:
        # scrapy-redis' own, except that the claim and the push are one Redis step (claim_and_push), and
        # without the spider argument Scrapy 2.19 deprecates in StatsCollector.inc_value
        if request.meta.get("kind") in DISCOVERY and request.priority < DISCOVERY_PRIORITY:
            # Discovery first: a column's next page must not wait behind every article queued before it;
            # read lists early so every worker has articles to fetch.
            request.priority = DISCOVERY_PRIORITY
        if request.dont_filter:
            self.queue.push(request)
        elif not self.df.claim_and_push(request, self.queue):
            self.df.log(request, self.spider)
            return False
        if self.stats:
            self.stats.inc_value("scheduler/enqueued/redis")
        return True

    def next_request(self) -> Request | None:
        popped = self.worker.state.pop_request(self.worker.id)
        if popped is None:
            return None
        token, data = popped
        request = self.queue._decode_request(data)
        self.worker.tokens[request] = token
        if self.stats:
            self.stats.inc_value("scheduler/dequeued/redis")
        return request


class CanonicalUrlDupeFilter(RFPDupeFilter):
    """scrapy-redis' Redis dupefilter keyed on the canonical URL, claiming budgets as it admits."""

    @classmethod
    def from_spider(cls, spider: Any) -> CanonicalUrlDupeFilter:
        worker = shared_for(spider.crawler)
        dupefilter = cls(worker.state.redis, key=worker.state.keys.seen_articles,
                         debug=spider.settings.getbool("DUPEFILTER_DEBUG"))
        dupefilter.worker, dupefilter.spider = worker, spider
        return dupefilter

    def request_fingerprint(self, request: Request) -> str:
        return url_fingerprint(request.url)

    def request_seen(self, request: Request) -> bool:
        return bool(self._claim(request, None))  # None (not ours) and 0 (claimed now) are both new

    def claim_and_push(self, request: Request, queue: SharedPriorityQueue) -> bool:
        """Admit a request into the shared queue: claimed and pushed in one Redis step, so a worker
        killed in between cannot leave a URL claimed for good and never queued. False: filtered."""
        entry = queue.entry(request)
        outcome = self._claim(request, entry)
        if outcome is None:  # not ours to claim: queued as it is
            queue.add(entry)
        return not outcome

    def _claim(self, request: Request, entry: tuple[float, bytes] | None) -> int | None:
        """The claim's outcome (state.SharedState.claim), or None for a request that is not claimed."""
        meta = request.meta
        source = self.spider.sources.get(meta.get("source_id"))
        kind = meta.get("kind")
        if meta.get("redirect_urls") or source is None or kind not in ("article", "list", "sitemap", "feed"):
            return None  # redirect hops (bounded by REDIRECT_MAX_TIMES) and requests that are not ours
        budget = source.max_articles if kind == "article" else source.max_pages if kind == "list" else None
        outcome = self.worker.state.claim(request.url, run_id=self.worker.run_id, kind=kind, source_id=source.id,
                                          budget=budget, force=meta.get("via") == "retry", enqueue=entry)
        if outcome == 2:
            self.spider.source_stats[source.id][f"shared_{kind}_budget_exhausted"] += 1
        elif outcome == 3:  # Redis restarted empty: fetch nothing more, the heartbeat stops this worker
            self.worker.state_lost = True
        return outcome

    def close(self, reason: str = "") -> None:
        pass  # the seen-set belongs to every worker and outlives this one (scrapy-redis would delete it)

    def clear(self) -> None:
        pass  # never from a worker: only `govbrief process` re-seeds the seen-set, from the archive


# ---------------------------------------------------------------- politeness


class SharedPolitenessMiddleware:
    """One worker's rate per host, whatever the number of workers: each request first reserves a start
    time for its host in Redis, one download delay (this worker's current one for the host: DOWNLOAD_DELAY,
    or what AutoThrottle made of it) after the last reservation of any worker. Scrapy's own per-slot delay
    still applies inside each worker."""

    def __init__(self, crawler: Any):
        if not crawler.settings.get("GOVBRIEF_REDIS_URL"):
            raise NotConfigured
        self.crawler = crawler
        self.worker = shared_for(crawler)
        self.default_delay = crawler.settings.getfloat("DOWNLOAD_DELAY")
        if crawler.settings.getbool("AUTOTHROTTLE_ENABLED"):
            self.default_delay = max(self.default_delay, crawler.settings.getfloat("AUTOTHROTTLE_START_DELAY"))

    @classmethod
    def from_crawler(cls, crawler: Any) -> SharedPolitenessMiddleware:
        return cls(crawler)

    def _delay(self, request: Request) -> float:
        downloader = self.crawler.engine.downloader
        slot = downloader.slots.get(downloader.get_slot_key(request))
        return slot.delay if slot is not None else self.default_delay

    async def process_request(self, request: Request, spider: Any = None) -> None:
        delay = self._delay(request)
        if delay <= 0:
            return None
        wait = self.worker.state.lease(urlsplit(request.url).hostname or "", delay)
        if wait > 0:  # this request only: the others (other hosts) go on meanwhile
            await _sleep(wait)
        return None


async def _sleep(seconds: float) -> None:
    """Wait on the reactor (works with the asyncio and the default Twisted reactor)."""
    from scrapy.utils.defer import maybe_deferred_to_future
    from twisted.internet import reactor
    from twisted.internet.task import deferLater

    await maybe_deferred_to_future(deferLater(reactor, seconds, lambda: None))


# ---------------------------------------------------------------- captures to the queue


class CaptureQueuePipeline:
    """Without --db: captures, fetch errors, frontier rows and the run record go to the capture queue
    (`govbrief process` stores them exactly as a local crawl's pipeline would)."""

    def __init__(self, crawler: Any):
        self.crawler = crawler
        self.worker = shared_for(crawler)

    @classmethod
    def from_crawler(cls, crawler: Any) -> CaptureQueuePipeline:
        return cls(crawler)

    def _push(self, message: dict) -> None:
        captures.push(self.worker.state.redis, {"worker": self.worker.id, "run": self.worker.run_id, **message})

    def open_spider(self, spider: Any = None) -> None:
        spider = spider or self.crawler.spider
        self._push({"type": "run_start", "started_at": utc_now(), "source_ids": sorted(spider.sources),
                    "sources": [s.as_dict() for s in spider.sources.values()]})
        spider.run_id = None
        # what the spider announces for the archive (crawler/signals.py) travels in the queue, in order
        self.crawler.signals.connect(self._frontier_write, signal=archive_signals.frontier_write)
        self.crawler.signals.connect(self._fetch_failed, signal=archive_signals.fetch_failed)

    def _frontier_write(self, function: Any, args: tuple = (), kwargs: dict | None = None) -> None:
        # their results cannot come back (nor do they locally): the shared dupefilter drops what another
        # worker already claimed
        self._push(captures.write_message(function.__name__, args, kwargs or {}))

    def _fetch_failed(self, error: dict) -> None:
        self._push({"type": "errors", "rows": [{"at": utc_now(), **error}]})

    def process_item(self, item: dict, spider: Any = None) -> dict:
        captures.push(self.worker.state.redis, captures.capture_message(item, worker=self.worker.id,
                                                                        run=self.worker.run_id))
        return {"url": item["url"], "queued": True}

    def close_spider(self, spider: Any = None) -> None:
        pass  # the run record is pushed by RedisWorkerExtension.spider_closed, which knows the verdict


# ---------------------------------------------------------------- the worker's lifecycle


class RedisWorkerExtension:
    """Heartbeat, acks, the shared idle/finish decision and the run record of a worker."""

    def __init__(self, crawler: Any):
        if not crawler.settings.get("GOVBRIEF_REDIS_URL"):
            raise NotConfigured
        self.crawler = crawler
        self.worker = shared_for(crawler)
        self.heartbeat = None
        self.pending_nudge = None
        self.started = False
        self.last_finish_check = 0.0
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_idle, signal=signals.spider_idle)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Any) -> RedisWorkerExtension:
        return cls(crawler)

    def spider_opened(self, spider: Any) -> None:
        from twisted.internet import task

        # Ack when the engine is done with a request (after its callback/errback output was handed on,
        # or after a redirect/retry replaced it): Scrapy has no signal for that moment, the engine slot does.
        slot = self.crawler.engine._slot
        remove_request = slot.remove_request

        def done(request: Request) -> None:
            remove_request(request)
            self.worker.request_done(spider, request)

        slot.remove_request = done
        self.heartbeat = task.LoopingCall(self._beat)
        self.heartbeat.start(max(1.0, self.worker.ttl / 3), now=True)

    def _beat(self) -> None:
        if self.worker.state_lost or not self.worker.state.run_state(self.worker.run_id):
            # Redis restarted empty or was flushed: the run, seen-set and queue are gone. Stop (exit 1); the
            # next run starts from the archive, re-seeded by `govbrief process`.
            if not self.worker.state_lost:
                logger.error("worker %s: the shared crawl state in Redis is gone; stopping", self.worker.id)
            self.worker.state_lost = self.worker.finished = True
            from scrapy.utils.defer import deferred_from_coro

            self.heartbeat.stop()
            deferred_from_coro(self.crawler.engine.close_spider_async(reason="shared_state_lost"))
            return
        self.worker.state.heartbeat(self.worker.id, self.worker.run_id, self.worker.ttl)
        self.worker.state.redis.sadd(self.worker.state.keys.workers, self.worker.id)

    def _nudge(self) -> None:
        slot = getattr(self.crawler.engine, "_slot", None)
        if slot is not None and slot.closing is None:
            slot.nextcall.schedule()

    def spider_idle(self, spider: Any) -> None:
        import time

        from twisted.internet import reactor

        if self.worker.finished:
            return  # let it close
        self.worker.flush_stats(spider)
        if not self.started:  # start() is exhausted: this worker's seeds are in the shared queue
            self.worker.state.started(self.worker.id)
            self.started = True
        if time.monotonic() - self.last_finish_check >= FINISH_CHECK_S:
            self.last_finish_check = time.monotonic()
            outcome = self.worker.state.try_finish(self.worker.run_id, utc_now())
            if outcome == 1:
                self.worker.finished = True
                return
            if outcome == 2:
                self.worker.finished = self.worker.state_lost = True
                raise CloseSpider("shared_state_lost")
        if self.pending_nudge is None or not self.pending_nudge.active():  # one poll chain, however often idle
            self.pending_nudge = reactor.callLater(IDLE_POLL_S, self._nudge)
        raise DontCloseSpider

    def spider_closed(self, spider: Any, reason: str) -> None:
        if self.heartbeat is not None and self.heartbeat.running:
            self.heartbeat.stop()
        if self.pending_nudge is not None and self.pending_nudge.active():
            self.pending_nudge.cancel()
        try:
            self.worker.flush_stats(spider)
            # The run's verdict, from every worker's counters once the run finished (a worker that fetched
            # no list page of a source must not call it broken); its own counters otherwise.
            own = {k: Counter(v) for k, v in spider.source_stats.items()}
            counters = own
            if self.worker.finished and not self.worker.state_lost:
                shared = self.worker.state.run_stats(self.worker.run_id, spider.sources)
                counters = {k: Counter(v) for k, v in shared.items()}
            spider.run_verdict = assess_run(counters, reason)
            if not self.worker.local_archive:  # with --db the archive pipeline records the run
                self._report(spider, own, reason)
        finally:
            self.worker.leave()

    def _report(self, spider: Any, own: dict[str, Counter], reason: str | None) -> None:
        """The run record for `govbrief process`: this worker's counters, the run's verdict."""
        verdict = spider.verdict = spider.run_verdict
        totals = sum(own.values(), Counter())
        captures.push(self.worker.state.redis, {
            "type": "run_end", "worker": self.worker.id, "run": self.worker.run_id, "finished_at": utc_now(),
            "status": verdict.status, "exit_status": verdict.exit_status, "message": verdict.message,
            "pages_fetched": totals["list_ok"] + totals["article_ok"] + totals["sitemap_ok"] + totals["feed_ok"],
            "list_pages": totals["list_ok"], "articles_known": totals["articles_known"],
            "errors": sum(v for k, v in totals.items() if k.endswith("_failed")),
            "stats": {k: dict(v) for k, v in own.items()}, "source_ids": sorted(spider.sources),
            "reason": reason})
        logger.info("worker %s, run %s: %s (exit %s)", self.worker.id, self.worker.run_id, verdict.message,
                    verdict.exit_status)
