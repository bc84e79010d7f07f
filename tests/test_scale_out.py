"""Scale-out: crawl workers sharing one frontier through a real redis-server, one archive.

The shared-state steps are checked on a real server first (claims, budgets, leases, dead workers and
consumers), then real `govbrief crawl --redis` workers and `govbrief process` run over the fault
server's generated column of articles (tests/faultserver.py, /big/), counting requests in its access log.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import signal
import time
from collections import Counter
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from faultserver import article_html, start_fault_web
from redis_support import REDIS_SERVER, finish, process, redis_server, worker
from support import rows

from pipelines.process.redis_queue import drain
from pipelines.scaleout import captures
from pipelines.scaleout.captures import CaptureConsumer
from pipelines.scaleout.state import SharedState, connect
from pipelines.store import migrations, storage

pytestmark = pytest.mark.skipif(REDIS_SERVER is None, reason="redis-server not installed (scripts/install-redis)")


@pytest.fixture
def server():
    with redis_server() as srv:
        yield srv


# ---------------------------------------------------------------- shared state on a real server


def test_requests_travel_as_json_and_come_back_whole():
    from scrapy import Request
    from scrapy.utils.request import request_from_dict

    from crawler import redis_mode

    request = Request("http://a.gov.cn/t.html", headers={"If-None-Match": b'"\xff1"'}, body=b"\xff\x00",
                      meta={"source_id": "s", "kind": "article", "redirect_urls": ["http://a.gov.cn/x"],
                            "retry_times": 1, "download_latency": 0.25})
    data = redis_mode.dumps(request.to_dict())
    assert json.loads(data)["url"] == "http://a.gov.cn/t.html"  # JSON: nothing in Redis can run code here
    back = request_from_dict(redis_mode.loads(data))
    assert (back.url, back.body, back.meta) == (request.url, request.body, request.meta)
    assert back.headers.getlist("If-None-Match") == request.headers.getlist("If-None-Match")
    with pytest.raises(TypeError, match="cannot share"):
        redis_mode.dumps({"meta": {"callback_object": object()}})


def test_articles_are_claimed_once_ever_lists_once_per_run_within_budget(server):
    state = SharedState(connect(server.url))
    claim = state.claim
    # nothing is new for a Redis that does not hold the archive's seed (new, restarted or flushed)
    assert claim("http://a.gov.cn/t1.html", run_id="1", kind="article", source_id="s", budget=None) == 3
    state.seed_from_archive(["http://a.gov.cn/t0.html"], "test")
    assert claim("http://a.gov.cn/t0.html", run_id="1", kind="article", source_id="s", budget=None) == 1
    assert claim("http://a.gov.cn/t1.html#top", run_id="1", kind="article", source_id="s", budget=None) == 0
    # the canonical URL key: default port and fragment do not make another page; a later run does not either
    assert claim("HTTP://A.gov.cn:80/t1.html", run_id="2", kind="article", source_id="s", budget=None) == 1
    assert claim("http://a.gov.cn/t1.html", run_id="2", kind="article", source_id="s", budget=None, force=True) == 0
    assert [claim("http://a.gov.cn/list.html", run_id=run, kind="list", source_id="s", budget=None)
            for run in ("1", "1", "2")] == [0, 1, 0]
    budgeted = [claim(f"http://b.gov.cn/t{n}.html", run_id="3", kind="article", source_id="b", budget=2)
                for n in range(3)]
    assert budgeted == [0, 0, 2]
    assert not state.article_seen("http://b.gov.cn/t2.html")  # over budget: offered again next run
    assert claim("http://b.gov.cn/t2.html", run_id="4", kind="article", source_id="b", budget=2) == 0


def test_a_claimed_url_enters_the_queue_in_the_same_step(server):
    """Claim and push are one Redis step: a worker killed between them would leave an article seen for good
    and never queued (its list page, put back and read again, finds the link claimed)."""
    state = SharedState(connect(server.url))
    state.seed_from_archive([], "test")
    queued = lambda: state.redis.zrange(state.keys.requests, 0, -1, withscores=True)  # noqa: E731
    claim = state.claim
    assert claim("http://a.gov.cn/t1.html", run_id="1", kind="article", source_id="s", budget=None,
                 enqueue=(-0.25, b"request t1")) == 0
    assert queued() == [(b"request t1", -0.25)]
    # seen, over budget: filtered, nothing queued
    assert claim("http://a.gov.cn/t1.html", run_id="1", kind="article", source_id="s", budget=None,
                 enqueue=(0.0, b"again t1")) == 1
    assert claim("http://b.gov.cn/t.html", run_id="1", kind="article", source_id="b", budget=0,
                 enqueue=(0.0, b"request b")) == 2
    assert queued() == [(b"request t1", -0.25)]
    state.redis.delete(state.keys.seeded)  # Redis lost its seed: nothing is new, nothing queued
    assert claim("http://a.gov.cn/t2.html", run_id="1", kind="article", source_id="s", budget=None,
                 enqueue=(0.0, b"request t2")) == 3
    assert queued() == [(b"request t1", -0.25)]


def test_dead_workers_requests_come_back_and_a_run_finishes_once(server):
    state = SharedState(connect(server.url))
    run, created = state.join_run("a", 60, "t0")
    assert created and state.join_run("b", 60, "t0") == (run, False)
    state.redis.zadd(state.keys.requests, {b"r1": 0, b"r2": 0})
    (_, data_a), (token_b, _) = state.pop_request("a"), state.pop_request("b")
    assert state.pop_request("a") is None
    assert state.try_finish(run, "t1") == 0  # both still starting
    state.started("a")
    state.started("b")
    state.finish_request("b", token_b, run, {"src": {"article_ok": 1}})
    assert state.try_finish(run, "t1") == 0  # a still holds a request
    state.redis.delete(state.keys.worker("a"))  # a dies: its heartbeat expires
    assert state.try_finish(run, "t2") == 0
    assert state.redis.zrange(state.keys.requests, 0, -1) == [data_a]  # put back, exactly once
    assert state.workers_alive() == 1
    token, _ = state.pop_request("b")
    state.finish_request("b", token, run, {"src": {"article_ok": 1}})
    assert state.try_finish(run, "t3") == 1
    assert state.run_state(run)["state"] == "finished"
    assert state.run_stats(run, ["src"]) == {"src": {"article_ok": 2}}
    assert state.join_run("c", 60, "t4") == (str(int(run) + 1), True)  # the next run


def test_host_leases_space_requests_of_all_workers(server):
    state = SharedState(connect(server.url))
    waits, free_at = [], []
    for _ in range(4):
        waits.append(state.lease("www.a.gov.cn", 0.5))
        free_at.append(int(state.redis.get(state.keys.lease("www.a.gov.cn"))))  # ms, Redis clock
    assert waits[0] == 0 and all(w > 0 for w in waits[1:])
    # each reserved start exactly one delay after the previous reservation, however fast the callers come
    assert [after - before for before, after in zip(free_at, free_at[1:], strict=False)] == [500, 500, 500]
    assert state.lease("www.b.gov.cn", 0.5) == 0  # hosts are independent


def _message(url: str, body: bytes, content_type: str = "text/html; charset=utf-8") -> dict:
    item = {"kind": "article", "source_id": "src", "url": url, "final_url": url, "status": 200,
            "headers": {"Content-Type": content_type}, "body": body, "fetched_at": "2026-01-02T03:04:05Z"}
    return captures.capture_message(item, worker="w1", run="1")


def test_drain_requeues_a_dead_consumer_and_stores_a_capture_delivered_twice_once(server, tmp_path):
    client = connect(server.url)
    state = SharedState(client)
    db = storage.open_db(tmp_path / "archive.db")
    migrations.ensure_schema(db)
    gbk = ("<html><head><meta charset='gbk'><title>关于项目建设的通报</title></head><body><h1>关于项目建设的通报</h1>"
           + "<p>为加快推进重点项目建设，全市各相关部门认真落实工作责任，确保项目早开工、早投产、早见效。</p>" * 4
           + "</body></html>").encode("gbk")
    captures.push(client, {"type": "run_start", "worker": "w1", "run": "1", "source_ids": ["src"],
                           "sources": [{"id": "src", "name": "测试", "region": "测试市", "start_urls": []}]})
    twice = _message("http://127.0.0.1:1/a/1.html", article_html("甲"))
    captures.push(client, twice)
    captures.push(client, _message("http://127.0.0.1:1/a/2.html", gbk, "text/html; charset=gbk"))
    captures.push(client, twice)  # delivered again (a consumer died after storing, before its ack)
    client.lpush("govbrief:captures", b"\x00 not a queue item")
    dead = CaptureConsumer(client, "dead", heartbeat_ttl=60)
    dead.register()
    assert dead.take(1) is not None  # taken, never acked
    client.delete("govbrief:consumer:dead")  # kill -9: the heartbeat expires
    counts = drain(db, state, CaptureConsumer(client, "alive"), poll_s=0.1)
    assert counts["captures"] == 2 and counts["duplicates"] == 1 and counts["articles_new"] == 2
    stored = rows(tmp_path / "archive.db", "select url, body, sha256 from captures order by url")
    assert [r["url"] for r in stored] == ["http://127.0.0.1:1/a/1.html", "http://127.0.0.1:1/a/2.html"]
    assert gzip.decompress(stored[1]["body"]) == gbk  # raw bytes: GBK stays GBK
    assert hashlib.sha256(gbk).hexdigest() == stored[1]["sha256"]
    assert client.llen("govbrief:captures") == 0 and client.llen("govbrief:captures:processing:dead") == 0
    assert counts["bad_items"] == 1 and client.lrange("govbrief:captures:bad", 0, -1) == [b"\x00 not a queue item"]
    assert state.is_seeded()
    db.close()


def test_a_worker_refuses_an_unseeded_redis(server, tmp_path):
    sources = tmp_path / "sources.yml"
    sources.write_text("sources:\n  - {id: a, name: A, region: R, start_urls: ['http://127.0.0.1:9/']}\n",
                       encoding="utf-8")
    status, output = finish(worker(sources, server.url))
    assert status == 2 and "govbrief process --redis" in output, output


# ---------------------------------------------------------------- real workers over a local site


def _check_archive(db: Path) -> list[str]:
    db_handle = storage.open_db(db)
    try:
        problems = storage.integrity_problems(db_handle, quick=False)
        for row in db_handle.query("select url, body, sha256 from captures"):
            if hashlib.sha256(gzip.decompress(row["body"])).hexdigest() != row["sha256"]:
                problems.append(f"torn capture {row['url']}")
        return problems
    finally:
        db_handle.close()


def _article_hits(web) -> Counter:
    return Counter({path: n for path, n in web.hit_counts().items() if path.startswith("/big/a/")})


@contextmanager
def _site(tmp: Path, pages: int, latency: float = 0.0, per_page: int = 20, seed: bool = True):
    """A redis-server, the fault server's /big/ column (pages x per_page articles), its registry and an
    archive path; with seed, Redis is seeded from the (empty) archive by `govbrief process` first."""
    with redis_server() as srv, start_fault_web() as web:
        web.big_pages, web.per_page, web.latency = pages, per_page, latency
        sources = web.write_sources(tmp / "sources.yml", faulty=False, trap=False, wide=False, big=True)
        db = tmp / "archive.db"
        if seed:
            status, output = finish(process(srv.url, db))
            assert status == 0, output
        yield srv, web, sources, db


@pytest.fixture(scope="module")
def shared_crawl(tmp_path_factory):
    """Two workers over a 1,000-article column, then `govbrief process`. 50 ms per response, so the crawl
    (~4 s) outlasts the difference in the workers' start-up on a loaded machine (at 5 ms the whole crawl
    took under 2 s and a worker that started a second late got 15 % of it)."""
    with _site(tmp_path_factory.mktemp("scale-out"), 50, latency=0.05) as (srv, web, sources, db):
        workers = [worker(sources, srv.url), worker(sources, srv.url)]
        results = [finish(w) for w in workers]
        drained = finish(process(srv.url, db, lineage=True))
        yield {"db": db, "workers": results, "process": drained, "hits": _article_hits(web)}


def test_two_workers_share_the_site_and_each_article_is_requested_once(shared_crawl):
    for status, output in shared_crawl["workers"]:
        assert status == 0, output
    assert shared_crawl["process"][0] == 0, shared_crawl["process"][1]
    expected = {f"/big/a/{n}.html" for n in range(1, 1001)}
    hits = shared_crawl["hits"]
    assert set(hits) == expected
    assert set(hits.values()) == {1}, [p for p, n in hits.items() if n > 1][:10]
    runs = rows(shared_crawl["db"], "select status, exit_status, pages_fetched from crawl_runs order by id")
    assert [r["status"] for r in runs] == ["ok", "ok"]
    total = sum(r["pages_fetched"] for r in runs)
    assert total >= 1000 and all(r["pages_fetched"] >= 0.2 * total for r in runs), runs


def test_the_archive_holds_every_article_exactly_once_and_is_sound(shared_crawl):
    db = shared_crawl["db"]
    [row] = rows(db, "select count(*) n, count(distinct url) d from articles")
    assert row == {"n": 1000, "d": 1000}
    assert rows(db, "select count(*) n from captures")[0]["n"] == 1000
    assert _check_archive(db) == []
    assert rows(db, "select count(*) n from crawl_frontier where kind = 'article' and state != 'done'")[0]["n"] == 0
    # the consumer clustered its articles incrementally (the persisted LSH state), not by recomputing all
    assert rows(db, "select count(*) n from lineage_docs")[0]["n"] == 1000
    assert "new articles clustered" in shared_crawl["process"][1]


def test_redis_restarted_empty_mid_run_is_survived_by_the_next_run(tmp_path):
    with _site(tmp_path, 15, latency=0.03, seed=False) as (srv, web, sources, db):
        client = connect(srv.url)
        drain = process(srv.url, db, "--follow")  # stores captures while the workers run; seeds Redis
        deadline = time.monotonic() + 60
        while not client.exists("govbrief:seeded") and time.monotonic() < deadline:
            time.sleep(0.05)
        workers = [worker(sources, srv.url), worker(sources, srv.url)]
        while len(_article_hits(web)) < 100 and time.monotonic() < deadline + 60:
            time.sleep(0.02)
        srv.restart_empty()
        for w in workers:  # they notice, stop and say so (no hang, no crawl on an empty seen-set)
            status, output = finish(w)
            assert status == 1 and "shared_state_lost" in output, output
        time.sleep(2)  # the drain rides out the restart and re-seeds from the archive
        drain.send_signal(signal.SIGTERM)
        status, output = finish(drain)
        assert status == 0, output
        archived_before = {r["url"] for r in rows(db, "select url from articles")}
        hits_before = _article_hits(web)
        assert 0 < len(archived_before) < 300
        assert finish(worker(sources, srv.url))[0] == 0  # the next run
        assert finish(process(srv.url, db))[0] == 0
        hits = _article_hits(web)
        assert set(hits) == {f"/big/a/{n}.html" for n in range(1, 301)}
        refetched = [url for url in archived_before if hits[urlsplit(url).path] != hits_before[urlsplit(url).path]]
        assert refetched == []  # nothing archived was fetched again
        assert rows(db, "select count(*) n, count(distinct url) d from articles")[0] == {"n": 300, "d": 300}
        assert _check_archive(db) == []
        statuses = Counter(r["status"] for r in rows(db, "select status from crawl_runs"))
        assert statuses == {"unhealthy": 2, "ok": 1}, statuses


def test_a_worker_killed_halfway_loses_nothing(tmp_path):
    with _site(tmp_path, 20, latency=0.03) as (srv, web, sources, db):
        victim, survivor = worker(sources, srv.url), worker(sources, srv.url)
        client = connect(srv.url)

        def held() -> int:  # what the victim holds (worker ids are host:pid:random)
            return sum(client.hlen(key) for key in client.scan_iter(f"govbrief:inflight:*:{victim.pid}:*"))

        deadline, held_at_kill = time.monotonic() + 120, 0
        while time.monotonic() < deadline:
            if len(_article_hits(web)) >= 150:
                # frozen, the victim's in-flight hash stands still: killed only while it holds requests (a
                # victim that started late or sits between requests proves nothing)
                os.kill(victim.pid, signal.SIGSTOP)
                if held_at_kill := held():
                    break
                os.kill(victim.pid, signal.SIGCONT)
            time.sleep(0.02)
        os.kill(victim.pid, signal.SIGKILL)
        assert victim.wait() == -signal.SIGKILL
        fetched_at_kill = len(_article_hits(web))
        assert 150 <= fetched_at_kill < 400, fetched_at_kill  # killed halfway, with work left
        assert held_at_kill >= 1 and held() == held_at_kill
        status, output = finish(survivor)
        assert status == 0, output
        assert finish(process(srv.url, db))[0] == 0
        later = finish(worker(sources, srv.url))  # the next run finds nothing left to fetch
        assert later[0] == 0, later[1]
        assert finish(process(srv.url, db))[0] == 0
        hits = _article_hits(web)
        assert set(hits) == {f"/big/a/{n}.html" for n in range(1, 401)}
        # only requests the victim held when it died were fetched a second time
        assert sum(hits.values()) - 400 <= held_at_kill, (held_at_kill, hits.most_common(10))
        assert rows(db, "select count(*) n, count(distinct url) d from articles")[0] == {"n": 400, "d": 400}
        assert _check_archive(db) == []
        statuses = Counter(r["status"] for r in rows(db, "select status from crawl_runs"))
        assert statuses == {"ok": 2, "interrupted": 1}, statuses


def test_workers_together_keep_one_workers_rate_per_host(tmp_path):
    delay = 0.25
    with _site(tmp_path, 1) as (srv, web, sources, _):
        polite = ("--delay", str(delay), "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY_JITTER=0")
        workers = [worker(sources, srv.url, *polite), worker(sources, srv.url, *polite)]
        for w in workers:
            status, output = finish(w)
            assert status == 0, output
        times = sorted(h.time for h in web.hits)
    assert len(times) >= 22  # 2 robots.txt, the list page, 20 articles
    # Two workers each keeping the delay on their own would reach 2 / delay; shared leases keep 1 / delay
    # (the slack is for scheduling noise on a busy machine: a late first request shortens the span).
    rate = (len(times) - 1) / (times[-1] - times[0])
    assert rate <= 1.25 / delay, f"{rate:.2f} requests/s to one host, limit {1 / delay:.2f}"


def test_a_worker_with_the_archive_writes_locally_beside_a_queue_worker(tmp_path):
    with _site(tmp_path, 10, latency=0.01) as (srv, web, sources, db):
        local, remote = worker(sources, srv.url, "--db", str(db)), worker(sources, srv.url)
        for status, output in (finish(local), finish(remote)):
            assert status == 0, output
        assert finish(process(srv.url, db))[0] == 0
        hits = _article_hits(web)
        assert set(hits) == {f"/big/a/{n}.html" for n in range(1, 201)} and set(hits.values()) == {1}
        assert rows(db, "select count(*) n, count(distinct url) d from articles")[0] == {"n": 200, "d": 200}
        by_worker = rows(db, "select status, pages_fetched from crawl_runs order by id")
        assert [r["status"] for r in by_worker] == ["ok", "ok"], by_worker
        assert _check_archive(db) == []
