"""What a page of very many tiny blocks costs the extraction: CPU and peak memory by number of blocks.

    .venv/bin/python bench/hostile_pages_bench.py                       # 5k ... 200k blocks
    .venv/bin/python bench/hostile_pages_bench.py --blocks 5000 10000 --full

A hostile or broken site can serve ten megabytes (the crawl's download limit) of `<div><p>短句。</p></div>`:
no real article page looks like that (the largest of the 640 corpus pages has 7,782 elements), but a
worker must get through it in bounded time and memory. Each page is extracted by `govbrief extract` in a
fresh process (the figures are that process's user CPU and peak RSS). `--full` also runs each size with
trafilatura's jusText and readability fallbacks forced on (FULL_EXTRACTION_ELEMENTS raised above the page),
the behaviour before 2026-12-07: quadratic in the blocks (a run is stopped after --timeout seconds).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# runs extract_article with the fallbacks forced on, whatever the page's size
_FULL = """import sys
from pipelines.extract import article
article.FULL_EXTRACTION_ELEMENTS = 10 ** 9
article.extract_article(open(sys.argv[1], "rb").read(), "http://www.example.gov.cn/a/1.html", "text/html")
"""


def page(blocks: int) -> bytes:
    return ("<html><head><title>某县召开项目推进会</title></head><body><h1>某县召开项目推进会</h1>"
            + "<div><p>会议部署了工作。</p></div>\n" * blocks + "</body></html>").encode("utf-8")


def measure(cmd: list[str], timeout: float) -> dict:
    """User CPU and peak RSS of one child process (the last child waited for: RUSAGE_CHILDREN's maxrss
    is the largest of all children so far, so each run is measured in a fresh wrapper process)."""
    wrapper = ("import resource, subprocess, sys\n"
               "try:\n"
               f"    code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, timeout={timeout}).returncode\n"
               "except subprocess.TimeoutExpired:\n"
               "    code = 'timeout'\n"
               "u = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
               "print(code, u.ru_utime, u.ru_maxrss)\n")
    out = subprocess.run([sys.executable, "-c", wrapper, *cmd], capture_output=True, text=True, cwd=REPO,
                         env={**os.environ, "PYTHONPATH": str(REPO)})
    code, cpu, rss_kb = out.stdout.split()
    return {"exit": code, "cpu_s": round(float(cpu), 2), "peak_mb": round(int(rss_kb) / 1024, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--blocks", type=int, nargs="+", default=[5_000, 10_000, 20_000, 50_000, 200_000])
    parser.add_argument("--full", action="store_true", help="also with trafilatura's fallbacks forced on")
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hostile-pages-") as work:
        for blocks in args.blocks:
            path = Path(work) / f"blocks-{blocks}.html"
            path.write_bytes(page(blocks))
            size_mb = path.stat().st_size / 1024 / 1024
            now = measure([sys.executable, "-m", "govbrief", "extract", str(path)], args.timeout)
            line = f"{blocks:>7} blocks ({size_mb:.1f} MB): govbrief extract {now}"
            if args.full:
                line += f"; with the fallbacks {measure([sys.executable, '-c', _FULL, str(path)], args.timeout)}"
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
