"""The public server under load: cheap-page latency while 6 clients loop the heaviest public requests,
peak memory, and the resource-exhaustion probes, for `govbrief serve` as deployed (its own process).

    .venv/bin/python bench/public_server.py [--errors 1000000] [--seconds 20] [--out bench/results/public-server.json]

Configurations compared: the default (4 SQL threads, 2 for heavy requests), the gate opened
(--heavy-slots 6: every heavy client gets a thread, cheap pages queue behind them) and Datasette's
own default thread count (3) with no reserve. Figures in docs/deploy.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pipelines.publish.serve import free_port, serve_command  # noqa: E402
from pipelines.store import migrations, storage  # noqa: E402

HEAVY = ["/archive/fetch_errors?_facet=url&_facet=reason&_sort_desc=url&url__contains=9",
         "/archive/fetch_errors.json?_facet=url&_sort=url&_size=max&reason__contains=4",
         "/archive/articles?_search=%E9%A1%B9%E7%9B%AE&_facet=title&_facet=text&_sort=text",
         "/archive/search?q=%E9%A1%B9%E7%9B%AE"]
CHEAP = ["/archive/sources", "/archive/articles/1"]
PROBES = ["select printf('%.*c', 999999999, 'x')", "select length(randomblob(1000000000))",
          "select hex(randomblob(500000000))", "select length(zeroblob(1000000000))"]
CONFIGS = {
    "default (4 threads, 2 heavy)": [],
    "gate open (4 threads, 6 heavy)": ["--heavy-slots", "6"],
    "Datasette default threads (3, 3 heavy)": ["--setting", "num_sql_threads", "3", "--heavy-slots", "3"],
}


def build(path: Path, articles: int, errors: int) -> None:
    db = storage.open_db(path)
    migrations.ensure_schema(db)
    for n in range(articles):
        storage.upsert_article(db, storage.article_row(
            {"url": f"http://a.gov.cn/{n}.html", "title": f"项目建设第{n}期", "text": "重大项目推进" * 200,
             "published": f"2024-0{n % 9 + 1}-01"}, source_id="a", region="测试", capture_id=None,
            fetched_at="2024-01-02T00:00:00Z"))
    db.execute("insert into sources (id, name, region) values ('a', '测试政府', '测试')")
    db["fetch_errors"].insert_all(({"url": f"http://a.gov.cn/missing/{n}.html", "source_id": "a",
                                    "reason": f"http_{400 + n % 7}", "kind": "article"} for n in range(errors)),
                                  batch_size=20_000)
    db.execute("pragma wal_checkpoint(truncate)")
    db.close()


def get(base: str, path: str, timeout: float = 60) -> tuple[int, float]:
    start = time.monotonic()
    try:
        with urllib.request.urlopen(base + path, timeout=timeout) as response:
            response.read()
            return response.status, time.monotonic() - start
    except urllib.error.HTTPError as exc:
        exc.read()
        return exc.code, time.monotonic() - start


class Served:
    def __init__(self, db: Path, extra: list[str]):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(serve_command(str(db), "127.0.0.1", self.port, extra=extra),
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(600):
            try:
                urllib.request.urlopen(self.base + "/-/versions.json", timeout=2).read()
                return
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)
        raise RuntimeError("server did not start")

    def peak_rss_mb(self) -> float:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM"))) / 1024

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=20)


def load(served: Served, seconds: float, clients: int = 6) -> dict:
    stop = threading.Event()
    heavy: list[tuple[int, float]] = []

    def client(n: int) -> None:
        i = n
        while not stop.is_set():
            heavy.append(get(served.base, HEAVY[i % len(HEAVY)]))
            i += 1

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(clients)]
    for thread in threads:
        thread.start()
    time.sleep(2)
    cheap = []
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end:
        status, took = get(served.base, CHEAP[n % len(CHEAP)])
        cheap.append(took)
        n += 1
        time.sleep(0.1)
    stop.set()
    for thread in threads:
        thread.join(timeout=120)
    cheap.sort()
    ok = [t for s, t in heavy if s == 200]
    return {"cheap_n": len(cheap), "cheap_p50_ms": round(statistics.median(cheap) * 1000, 1),
            "cheap_p95_ms": round(cheap[int(len(cheap) * 0.95) - 1] * 1000, 1),
            "cheap_max_ms": round(cheap[-1] * 1000, 1),
            "heavy_requests": len(heavy), "heavy_ok": len(ok), "heavy_503": sum(s == 503 for s, _ in heavy),
            "heavy_error": sum(s not in (200, 503) for s, _ in heavy),
            "heavy_p50_ms": round(statistics.median(ok) * 1000, 1) if ok else None,
            "peak_rss_mb": round(served.peak_rss_mb(), 1)}


def probes(db: Path) -> dict:
    out = {}
    for mode, extra in (("public", []), ("trusted --allow-sql", ["--allow-sql"])):
        served = Served(db, extra)
        try:
            rows = []
            for sql in PROBES:
                for path in (f"/archive.json?sql={quote(sql)}",
                             f"/archive/articles.json?_where={quote(sql.replace('select', '', 1) + ' is not null')}"):
                    status, took = get(served.base, path)
                    rows.append({"request": path[:70], "status": status, "ms": round(took * 1000, 1)})
            out[mode] = {"probes": rows, "peak_rss_mb": round(served.peak_rss_mb(), 1)}
        finally:
            served.stop()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--errors", type=int, default=1_000_000, help="rows of fetch_errors (the heavy table)")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / "public-server.json"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="govbrief-public-bench-") as tmp:
        db = Path(tmp) / "archive.db"
        start = time.monotonic()
        build(db, args.articles, args.errors)
        print(f"archive: {args.articles} articles, {args.errors} fetch_errors, {db.stat().st_size / 1e6:.0f} MB "
              f"(built in {time.monotonic() - start:.0f} s)", flush=True)
        results: dict = {"articles": args.articles, "errors": args.errors, "seconds": args.seconds, "load": {}}
        for name, extra in CONFIGS.items():
            served = Served(db, extra)
            try:
                results["load"][name] = load(served, args.seconds)
            finally:
                served.stop()
            print(name, json.dumps(results["load"][name]), flush=True)
        results["probes"] = probes(db)
        print(json.dumps(results["probes"], indent=1))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=1, ensure_ascii=False), encoding="utf-8")
    print("| configuration | cheap p50 / p95 / max ms | heavy done (503) | heavy p50 ms | peak RSS MB |")
    print("|---|---|---|---|---|")
    for name, r in results["load"].items():
        print(f"| {name} | {r['cheap_p50_ms']} / {r['cheap_p95_ms']} / {r['cheap_max_ms']} | "
              f"{r['heavy_ok']} ({r['heavy_503']}) | {r['heavy_p50_ms']} | {r['peak_rss_mb']} |")


if __name__ == "__main__":
    main()
