"""Readers during writes: Datasette answers a steady stream of queries while a crawl writes.

    .venv/bin/python bench/readers.py                  # the figures in docs/reliability.md
    .venv/bin/python bench/readers.py --pages 4        # about what tests/test_readers.py runs

Starts `datasette serve` exactly as `govbrief serve` does (pipelines/publish/serve.py: same metadata and
settings), then a `govbrief crawl` of a PAGES x PER_PAGE column from tests/faultserver.py, and
while the crawl runs, READERS threads query Datasette back to back: table pages, JSON, full-text
search, custom SQL and the run tables. Any answer but 200 (or a transport error) is a reader error.
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
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO))

from faultserver import start_fault_web  # noqa: E402

from pipelines.publish.serve import datasette_process  # noqa: E402
from pipelines.store import migrations, storage  # noqa: E402

QUERIES = [
    "/archive/articles.json?_shape=array&_size=50",
    "/archive/articles?_sort_desc=published",
    "/archive/articles.json?_search=" + quote("项目建设") + "&_shape=array",
    "/archive.json?sql=" + quote("select count(*) as n, max(id) as last from articles") + "&_shape=array",
    "/archive/captures.json?_size=5&_col=url&_col=status&_shape=array",
    "/archive/crawl_runs.json?_shape=array",
    "/archive/fetch_errors.json?_shape=array",
    "/archive/articles.csv?_size=100",
]


class Readers:
    def __init__(self, base: str, threads: int):
        self.base, self.threads = base, threads
        self.stop = threading.Event()
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self.lock = threading.Lock()

    def _loop(self, offset: int) -> None:
        n = offset
        while not self.stop.is_set():
            path = QUERIES[n % len(QUERIES)]
            n += 1
            started = time.monotonic()
            try:
                with urllib.request.urlopen(self.base + path, timeout=30) as response:
                    response.read()
                    ok, detail = response.status == 200, str(response.status)
            except urllib.error.HTTPError as exc:
                ok, detail = False, f"HTTP {exc.code}: {exc.read()[:300]!r}"
            except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
                ok, detail = False, repr(exc)
            elapsed = time.monotonic() - started
            with self.lock:
                self.latencies.append(elapsed)
                if not ok:
                    self.errors.append(f"{path}: {detail}")

    def __enter__(self) -> Readers:
        self._threads = [threading.Thread(target=self._loop, args=(i,), daemon=True) for i in range(self.threads)]
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self._threads:
            thread.join(timeout=60)


def run(pages: int, per_page: int, latency: float, readers: int, workdir: Path) -> dict:
    db_path = workdir / "archive.db"
    db = storage.open_db(db_path)
    migrations.ensure_schema(db)  # Datasette needs the file; the crawl fills it
    db.close()
    # trusted mode (--allow-sql): one of the reader queries is custom SQL, which the public default refuses
    with datasette_process(db_path, cwd=REPO, extra=["--allow-sql"]) as base:
        with start_fault_web() as web:
            web.big_pages, web.per_page, web.latency = pages, per_page, latency
            sources = web.write_sources(workdir / "sources.yml", faulty=False, trap=False, wide=False, big=True)
            with Readers(base, readers) as load:
                started = time.monotonic()
                crawl = subprocess.run(
                    [sys.executable, "-m", "govbrief", "crawl", "--sources", str(sources), "--db", str(db_path),
                     "--delay", "0", "--log-level", "WARNING"], cwd=REPO, capture_output=True, text=True, timeout=900)
                crawl_s = time.monotonic() - started
        latencies = sorted(load.latencies)
        conn = storage.open_db(db_path)
        articles = next(conn.query("select count(*) n from articles"))["n"]
        conn.close()
        return {
            "pages": pages, "per_page": per_page, "readers": readers, "crawl_exit": crawl.returncode,
            "crawl_s": round(crawl_s, 2), "articles_written": articles, "queries": len(latencies),
            "queries_per_s": round(len(latencies) / crawl_s, 1), "reader_errors": len(load.errors),
            "error_samples": load.errors[:5],
            "latency_ms": {"p50": round(statistics.median(latencies) * 1000, 1) if latencies else None,
                           "p95": round(latencies[int(len(latencies) * 0.95)] * 1000, 1) if latencies else None,
                           "max": round(latencies[-1] * 1000, 1) if latencies else None},
            "crawl_stdout": crawl.stdout.strip(),
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=25)
    parser.add_argument("--per-page", type=int, default=20)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--readers", type=int, default=4)
    parser.add_argument("--json", help="also write the result here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="govbrief-readers-") as tmp:
        result = run(args.pages, args.per_page, args.latency, args.readers, Path(tmp))
    text = json.dumps(result, ensure_ascii=False, indent=1)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n", encoding="utf-8")
    ok = result["reader_errors"] == 0 and result["crawl_exit"] == 0
    print("PASS" if ok else "FAIL", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
