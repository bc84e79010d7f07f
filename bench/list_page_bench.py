"""CPU a list page costs the crawl's reactor thread (crawler.discovery.parse_list_page), by pager size.

    .venv/bin/python bench/list_page_bench.py            # TRS list pages naming 100 and 1,000 pages

A TRS column announces every page with `createPageHTML(count, current, "index", "html")`, and every
page of the column repeats it: a 1,000-page column names 999 pages on each of its 1,000 pages, so what
one page costs is paid a million times over the column. The page is the throughput bench's list page
(bench/throughput_bench.py: site chrome, 20 dated links). Warm: the URL caches hold the column's
pages, as they do in a crawl.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from throughput_bench import CHROME_BOTTOM, CHROME_TOP  # noqa: E402

from crawler.discovery import parse_list_page  # noqa: E402


def list_page(pages: int, current: int) -> str:
    items = "".join(f'<li><a href="./2024{m:02d}/t2024{m:02d}01_{7_000_000 + m}.html" target="_blank">'
                    f"某项目开工建设（第{m}期）</a><span>2024-{m % 12 + 1:02d}-01</span></li>" for m in range(20))
    return (CHROME_TOP.format(title="项目建设", meta="") + f'<div class="list"><ul>{items}</ul></div>'
            f'<div class="page"><script>createPageHTML({pages}, {current}, "index", "html");</script></div>'
            + CHROME_BOTTOM)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args(argv)
    for pages in (100, 1000):
        html = list_page(pages, 5)
        url = "http://www.example.gov.cn/xwzx/xmjs/index_5.html"
        named = len(parse_list_page(html, url).pagination)  # warms the caches
        started = time.process_time()
        for _ in range(args.repeat):
            parse_list_page(html, url)
        ms = (time.process_time() - started) / args.repeat * 1000
        print(f"{pages:5d}-page column: {ms:6.2f} ms CPU per list page ({named} pages named); "
              f"the whole column: {ms * pages / 1000:6.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
