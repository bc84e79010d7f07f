"""Scale-out benchmark: crawl throughput with 1, 2 and 4 workers, and the per-host rate under politeness.

    .venv/bin/python bench/redis_bench.py                       # figures in docs/scale-out.md
    .venv/bin/python bench/redis_bench.py --latency 0.2 --articles 600 --no-politeness   # a slow site

Each trial starts a fresh redis-server (tests/redis_support.py) and the fault server's generated column
(tests/faultserver.py, /big/: PAGES x 20 articles, LATENCY seconds per answer, like a remote site), seeds
Redis with `govbrief process`, starts N `govbrief crawl --redis` workers at once, waits for all of them,
then drains the capture queue with `govbrief process` into a fresh archive.

1. throughput: no politeness delay (--delay 0), so the figure is what N workers can fetch; measured at
   the server from the first to the last request, and wall time from the workers' start to their exit.
2. politeness: --delay D with AutoThrottle off; the per-host request rate seen by the server must stay
   at 1/D whatever N (one worker's rate), which is what a site operator sees.
Every trial also checks each article URL was requested exactly once and archived exactly once.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO))

from faultserver import start_fault_web  # noqa: E402
from redis_support import finish, process, redis_server, worker  # noqa: E402


def trial(workers: int, articles: int, latency: float, delay: float, workdir: Path) -> dict:
    per_page = 20
    with redis_server() as srv, start_fault_web() as web:
        web.big_pages, web.per_page, web.latency = max(1, articles // per_page), per_page, latency
        sources = web.write_sources(workdir / "sources.yml", faulty=False, trap=False, wide=False, big=True)
        db = workdir / f"archive-{workers}-{delay}.db"
        status, output = finish(process(srv.url, db))
        assert status == 0, output
        polite = ["--delay", str(delay), "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY_JITTER=0"] \
            if delay else []
        started = time.monotonic()
        crawls = [worker(sources, srv.url, *polite, heartbeat_ttl=10) for _ in range(workers)]
        results = [finish(c, timeout=3600) for c in crawls]
        wall_s = time.monotonic() - started
        assert all(s == 0 for s, _ in results), [o for s, o in results if s]
        started = time.monotonic()
        status, output = finish(process(srv.url, db), timeout=3600)
        process_s = time.monotonic() - started
        assert status == 0, output
        times = sorted(h.time for h in web.hits)
        hits = Counter(h.path for h in web.hits if h.path.startswith("/big/a/"))
        conn = sqlite3.connect(db)
        archived, distinct = conn.execute("select count(*), count(distinct url) from articles").fetchone()
        per_worker = [r[0] for r in conn.execute("select pages_fetched from crawl_runs order by id")]
        conn.close()
        span = times[-1] - times[0]
        gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
        return {
            "workers": workers, "delay_s": delay, "requests": len(times), "articles_expected": web.big_pages * per_page,
            "article_urls_requested": len(hits), "requested_more_than_once": sum(1 for n in hits.values() if n > 1),
            "archived": archived, "archived_distinct": distinct, "pages_per_worker": per_worker,
            "server_span_s": round(span, 2), "requests_per_s": round((len(times) - 1) / span, 2),
            "min_gap_ms": round(min(gaps) * 1000, 1), "crawl_wall_s": round(wall_s, 2),
            "process_s": round(process_s, 2), "articles_per_s_processed": round(archived / process_s, 1),
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--articles", type=int, default=1000, help="throughput trials (multiple of 20)")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds the site takes per answer")
    parser.add_argument("--polite-articles", type=int, default=60)
    parser.add_argument("--delay", type=float, default=0.2, help="politeness delay per host for the rate trials")
    parser.add_argument("--no-politeness", dest="politeness", action="store_false", help="throughput trials only")
    parser.add_argument("--json", help="also write the result here")
    args = parser.parse_args()
    result: dict = {"throughput": [], "politeness": []}
    with tempfile.TemporaryDirectory(prefix="govbrief-redis-bench-") as tmp:
        for n in args.workers:
            result["throughput"].append(trial(n, args.articles, args.latency, 0.0, Path(tmp)))
            print(json.dumps(result["throughput"][-1]), file=sys.stderr)
        for n in args.workers if args.politeness else []:
            result["politeness"].append(trial(n, args.polite_articles, 0.0, args.delay, Path(tmp)))
            print(json.dumps(result["politeness"][-1]), file=sys.stderr)
    result["ok"] = all(t["requested_more_than_once"] == 0 and t["archived"] == t["archived_distinct"]
                       == t["articles_expected"] for t in result["throughput"] + result["politeness"]) and all(
        t["requests_per_s"] <= 1.05 / args.delay for t in result["politeness"])
    text = json.dumps(result, indent=1)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n", encoding="utf-8")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
