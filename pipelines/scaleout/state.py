"""The crawl state workers share through Redis, and every atomic step on it.

Why Redis (and redis-py): scrapy-redis already keeps Scrapy's request queue and seen-set there, one
server is enough for tens of thousands of sources, and Lua scripts make each multi-key step atomic,
so workers on any number of machines never race (two workers never claim one URL, a dead worker's
requests are put back exactly once, a run is declared finished exactly once).

Keys (prefix "govbrief", one Redis database per archive):
  {p}:requests               zset   the shared request queue (scrapy-redis PriorityQueue format)
  {p}:seen:articles          set    fingerprints of article URLs archived or requested (never re-fetched)
  {p}:run / {p}:run:seq      string the current run id / its counter
  {p}:run:{id}               hash   state (running | finished), started_at, finished_at
  {p}:run:{id}:seen          set    list/sitemap/feed fingerprints of this run (lists are re-read every run)
  {p}:run:{id}:budget:{kind}:{source}   counter  articles/list pages scheduled (max_articles, max_pages)
  {p}:run:{id}:stats:{source}           hash     per-source counters of every worker (the run verdict)
  {p}:workers / {p}:starting set    registered workers / workers whose start() is not done yet
  {p}:worker:{w}             string heartbeat with a TTL: gone = the worker died
  {p}:inflight:{w}           hash   requests worker w popped and has not finished (requeued if it dies)
  {p}:lease:{host}           string the next moment (ms, Redis clock) a request to host may start
  {p}:seeded                 string set once the seen-set holds the archive's articles
  {p}:resume                 hash   source -> what the archive says is unfinished (JSON), for workers
  {p}:captures ...           see captures.py
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping

import redis

from pipelines.urls import canonical_url

PREFIX = "govbrief"
RUN_KEY_TTL = 7 * 24 * 3600  # per-run keys outlive any run; a later run has its own
SEED_BATCH = 5000


class RedisUnavailable(RuntimeError):
    """The Redis URL is wrong or the server does not answer: said with the URL, never a traceback."""


def connect(url: str) -> redis.Redis:
    """A bytes client for `redis://host:port/db`. A restart or a network blip of a few seconds is ridden
    out by retrying (backoff 0.1 s doubling to 2 s, ~5 s in all); longer, the caller sees the error."""
    from redis.backoff import ExponentialBackoff
    from redis.retry import Retry

    try:
        client = redis.Redis.from_url(url, socket_timeout=30, socket_connect_timeout=10, health_check_interval=30,
                                      retry=Retry(ExponentialBackoff(cap=2.0, base=0.1), 6),
                                      retry_on_error=[redis.ConnectionError, redis.TimeoutError])
        client.ping()
    except (ValueError, redis.RedisError) as exc:
        raise RedisUnavailable(f"{url}: cannot use this Redis server ({exc})") from None
    return client


def url_fingerprint(url: str) -> str:
    """The seen-set key of a URL: its canonical form (pipelines.urls.canonical_url), so fragments and
    default ports never make one page two."""
    return hashlib.sha1(canonical_url(url).encode("utf-8")).hexdigest()


class Keys:
    """Every key name, from one prefix (see the module docstring)."""

    def __init__(self, prefix: str = PREFIX):
        self.prefix = prefix
        self.requests = f"{prefix}:requests"
        self.seen_articles = f"{prefix}:seen:articles"
        self.current_run = f"{prefix}:run"
        self.workers = f"{prefix}:workers"
        self.starting = f"{prefix}:starting"
        self.inflight_seq = f"{prefix}:inflight:seq"
        self.seeded = f"{prefix}:seeded"
        self.resume = f"{prefix}:resume"

    def run(self, run_id: str) -> str:
        return f"{self.prefix}:run:{run_id}"

    def run_seen(self, run_id: str) -> str:
        return f"{self.prefix}:run:{run_id}:seen"

    def budget(self, run_id: str, kind: str, source_id: str) -> str:
        return f"{self.prefix}:run:{run_id}:budget:{kind}:{source_id}"

    def stats(self, run_id: str, source_id: str) -> str:
        return f"{self.prefix}:run:{run_id}:stats:{source_id}"

    def worker(self, worker_id: str) -> str:
        return f"{self.prefix}:worker:{worker_id}"

    def inflight(self, worker_id: str) -> str:
        return f"{self.prefix}:inflight:{worker_id}"

    def lease(self, host: str) -> str:
        return f"{self.prefix}:lease:{host}"


# Put back the in-flight requests of every worker whose heartbeat expired (it died: kill -9, power
# loss); returns how many. Shared by join, finish and the archive side's "is any worker running?".
_SWEEP = """
local function sweep(prefix)
  local n = 0
  for _, w in ipairs(redis.call('SMEMBERS', prefix .. ':workers')) do
    if redis.call('EXISTS', prefix .. ':worker:' .. w) == 0 then
      local inflight = prefix .. ':inflight:' .. w
      for _, item in ipairs(redis.call('HVALS', inflight)) do
        redis.call('ZADD', prefix .. ':requests', 0, item)
        n = n + 1
      end
      redis.call('DEL', inflight)
      redis.call('SREM', prefix .. ':workers', w)
      redis.call('SREM', prefix .. ':starting', w)
    end
  end
  return n
end
"""

_JOIN = _SWEEP + """
local prefix, worker, ttl, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
sweep(prefix)
local id = redis.call('GET', prefix .. ':run')
local created = 0
if (not id) or redis.call('HGET', prefix .. ':run:' .. id, 'state') ~= 'running' then
  id = tostring(redis.call('INCR', prefix .. ':run:seq'))
  redis.call('SET', prefix .. ':run', id)
  redis.call('HSET', prefix .. ':run:' .. id, 'state', 'running', 'started_at', now)
  redis.call('EXPIRE', prefix .. ':run:' .. id, tonumber(ARGV[5]))
  created = 1
end
redis.call('SADD', prefix .. ':workers', worker)
redis.call('SADD', prefix .. ':starting', worker)
redis.call('SET', prefix .. ':worker:' .. worker, id, 'EX', ttl)
return {id, created}
"""

# 1: the run is finished (now or before), 0: work is left somewhere, 2: the run's state is gone
# (Redis restarted empty or was flushed): the worker stops, the next run re-seeds from the archive.
_FINISH = _SWEEP + """
local prefix, run_id, now = ARGV[1], ARGV[2], ARGV[3]
sweep(prefix)
local run = prefix .. ':run:' .. run_id
local state = redis.call('HGET', run, 'state')
if not state then return 2 end
if state ~= 'running' then return 1 end
if redis.call('ZCARD', prefix .. ':requests') > 0 then return 0 end
if redis.call('SCARD', prefix .. ':starting') > 0 then return 0 end
for _, w in ipairs(redis.call('SMEMBERS', prefix .. ':workers')) do
  if redis.call('HLEN', prefix .. ':inflight:' .. w) > 0 then return 0 end
end
redis.call('HSET', run, 'state', 'finished', 'finished_at', now)
return 1
"""

_ALIVE = _SWEEP + """
sweep(ARGV[1])
return redis.call('SCARD', ARGV[1] .. ':workers')
"""

# A clean stop: whatever this worker popped and did not finish goes back to the queue (unless ARGV[3]
# is '0': the worker saw Redis lose the crawl state, and the archive is what the next run starts from).
_LEAVE = """
local prefix, worker = ARGV[1], ARGV[2]
local inflight = prefix .. ':inflight:' .. worker
local items = redis.call('HVALS', inflight)
if ARGV[3] == '1' then
  for _, item in ipairs(items) do redis.call('ZADD', prefix .. ':requests', 0, item) end
end
redis.call('DEL', inflight, prefix .. ':worker:' .. worker)
redis.call('SREM', prefix .. ':workers', worker)
redis.call('SREM', prefix .. ':starting', worker)
return #items
"""

# Take the head of the shared queue into this worker's in-flight hash, atomically (scrapy-redis'
# own pop is ZRANGE + ZREMRANGEBYRANK: a worker killed after it loses the request for good).
_POP = """
local r = redis.call('ZRANGE', KEYS[1], 0, 0)
if #r == 0 then return false end
redis.call('ZREM', KEYS[1], r[1])
local token = redis.call('INCR', KEYS[3])
redis.call('HSET', KEYS[2], token, r[1])
return {token, r[1]}
"""

# 0: claimed (new), 1: seen before, 2: over the source's budget for this run (not marked seen, so a
# later run offers it again), 3: Redis lost the archive's seed (restarted empty): nothing is new until
# it is re-seeded. force: the archive says it must be fetched again (failed, unfinished).
# With a request (ARGV[6] score, ARGV[7] data) a claimed URL enters the shared queue in the same step:
# a worker killed between a claim and its push would leave the URL seen for good and never fetched
# (the parent it came from, put back and read again, finds its links claimed).
_CLAIM = """
local seen, budget, fp, max, ttl, force = KEYS[1], KEYS[2], ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
if redis.call('EXISTS', KEYS[3]) == 0 then return 3 end
if force ~= '1' and redis.call('SISMEMBER', seen, fp) == 1 then return 1 end
if max >= 0 then
  local n = redis.call('INCR', budget)
  redis.call('EXPIRE', budget, ttl)
  if n > max then
    redis.call('DECR', budget)
    return 2
  end
end
redis.call('SADD', seen, fp)
if ttl > 0 and ARGV[5] == '1' then redis.call('EXPIRE', seen, ttl) end
if ARGV[7] then redis.call('ZADD', KEYS[4], ARGV[6], ARGV[7]) end
return 0
"""

# Reserve the next start time for a host: the lease key holds when the host is free again, on the
# Redis clock (no clock skew between machines). Returns the milliseconds to wait.
_LEASE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local free = tonumber(redis.call('GET', KEYS[1]) or '0')
local start = math.max(now, free)
local interval = tonumber(ARGV[1])
redis.call('SET', KEYS[1], start + interval, 'PX', (start - now) + interval + 60000)
return start - now
"""


class SharedState:
    """One client's view of the shared crawl state (a worker's or the archive's)."""

    def __init__(self, client: redis.Redis, prefix: str = PREFIX):
        self.redis = client
        self.keys = Keys(prefix)
        self.prefix = prefix
        self._join = client.register_script(_JOIN)
        self._finish = client.register_script(_FINISH)
        self._alive = client.register_script(_ALIVE)
        self._leave = client.register_script(_LEAVE)
        self._pop = client.register_script(_POP)
        self._claim = client.register_script(_CLAIM)
        self._lease = client.register_script(_LEASE)

    # ---------------------------------------------------------------- runs and workers

    def join_run(self, worker_id: str, heartbeat_ttl: int, now: str) -> tuple[str, bool]:
        """Join the running run, or start a new one if none is running: (run id, created)."""
        run_id, created = self._join(args=[self.prefix, worker_id, heartbeat_ttl, now, RUN_KEY_TTL])
        return run_id.decode(), bool(created)

    def heartbeat(self, worker_id: str, run_id: str, ttl: int) -> None:
        self.redis.set(self.keys.worker(worker_id), run_id, ex=ttl)

    def started(self, worker_id: str) -> None:
        """The worker's start() is exhausted: its seeds are in the queue."""
        self.redis.srem(self.keys.starting, worker_id)

    def try_finish(self, run_id: str, now: str) -> int:
        """1 finished, 0 work left somewhere, 2 the run's state is gone (see _FINISH)."""
        return int(self._finish(args=[self.prefix, run_id, now]))

    def workers_alive(self) -> int:
        """Registered workers with a live heartbeat (dead ones are swept and their requests put back)."""
        return int(self._alive(args=[self.prefix]))

    def leave(self, worker_id: str, requeue: bool = True) -> int:
        return int(self._leave(args=[self.prefix, worker_id, int(requeue)]))

    def run_state(self, run_id: str) -> dict[str, str]:
        return {k.decode(): v.decode() for k, v in self.redis.hgetall(self.keys.run(run_id)).items()}

    def run_stats(self, run_id: str, source_ids: Iterable[str]) -> dict[str, dict[str, int]]:
        out = {}
        for source_id in source_ids:
            raw = self.redis.hgetall(self.keys.stats(run_id, source_id))
            out[source_id] = {k.decode(): int(v) for k, v in raw.items()}
        return out

    # ---------------------------------------------------------------- the request queue

    def pop_request(self, worker_id: str) -> tuple[int, bytes] | None:
        found = self._pop(keys=[self.keys.requests, self.keys.inflight(worker_id), self.keys.inflight_seq])
        if not found:
            return None
        token, data = found
        return int(token), data

    def finish_request(self, worker_id: str, token: int, run_id: str,
                       stats_delta: Mapping[str, Mapping[str, int]]) -> None:
        """Ack a popped request, together with the counters it moved (one transaction)."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.hdel(self.keys.inflight(worker_id), token)
        for source_id, delta in stats_delta.items():
            key = self.keys.stats(run_id, source_id)
            for name, value in delta.items():
                pipe.hincrby(key, name, value)
            pipe.expire(key, RUN_KEY_TTL)
        pipe.execute()

    def claim(self, url: str, *, run_id: str, kind: str, source_id: str, budget: int | None,
              force: bool = False, enqueue: tuple[float, bytes] | None = None) -> int:
        """Claim a URL for this run: 0 new, 1 seen, 2 over budget, 3 unseeded (see _CLAIM). Articles are claimed
        for good (an article is fetched once, ever); lists, sitemaps and feeds once per run. enqueue, a
        (score, encoded request) of the shared queue, is pushed in the same atomic step when the claim is new."""
        per_run = kind != "article"
        seen = self.keys.run_seen(run_id) if per_run else self.keys.seen_articles
        budget_kind = "article" if kind == "article" else "list"
        args = [url_fingerprint(url), -1 if budget is None else budget, RUN_KEY_TTL, int(force), int(per_run)]
        if enqueue is not None:
            args += [repr(float(enqueue[0])), enqueue[1]]
        return int(self._claim(
            keys=[seen, self.keys.budget(run_id, budget_kind, source_id), self.keys.seeded, self.keys.requests],
            args=args))

    def article_seen(self, url: str) -> bool:
        return bool(self.redis.sismember(self.keys.seen_articles, url_fingerprint(url)))

    # ---------------------------------------------------------------- politeness

    def lease(self, host: str, interval_s: float) -> float:
        """Reserve a start slot for a request to host, interval_s after the previous reservation of any
        worker; returns the seconds to wait before sending."""
        return int(self._lease(keys=[self.keys.lease(host)], args=[max(1, int(interval_s * 1000))])) / 1000

    # ---------------------------------------------------------------- what the archive knows

    def is_seeded(self) -> bool:
        return bool(self.redis.exists(self.keys.seeded))

    def seed_from_archive(self, archived_urls: Iterable[str], label: str) -> int:
        """Put the archive's article URLs in the seen-set (Redis empty: new, restarted or flushed), so
        no worker fetches them again. The marker is set last: a seed cut short is redone."""
        count, batch = 0, []
        for url in archived_urls:
            batch.append(url_fingerprint(url))
            if len(batch) >= SEED_BATCH:
                self.redis.sadd(self.keys.seen_articles, *batch)
                count, batch = count + len(batch), []
        if batch:
            self.redis.sadd(self.keys.seen_articles, *batch)
            count += len(batch)
        self.redis.set(self.keys.seeded, label)
        return count

    def publish_resume(self, per_source: Mapping[str, dict]) -> None:
        """source -> {"articles": [url], "lists": [[url, depth]]}: what the archive says is unfinished
        (failed article fetches, the frontier); the worker that starts a run schedules them."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.delete(self.keys.resume)
        for source_id, seeds in per_source.items():
            pipe.hset(self.keys.resume, source_id, json.dumps(seeds, ensure_ascii=False))
        pipe.execute()

    def resume_for(self, source_id: str) -> dict:
        raw = self.redis.hget(self.keys.resume, source_id)
        return json.loads(raw) if raw else {"articles": [], "lists": []}
