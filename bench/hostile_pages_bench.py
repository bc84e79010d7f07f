"""What a page of very many tiny blocks costs the extraction: CPU and peak memory by number of blocks.

    .venv/bin/python bench/hostile_pages_bench.py                       # 5k ... 200k blocks
    .venv/bin/python bench/hostile_pages_bench.py --blocks 5000 10000 --full

A hostile or broken site can serve ten megabytes (the crawl's download limit) of `<div><p>短句。</p></div>`:
no real article page looks like that (the largest of the 640 corpus pages has 7,782 elements), but a
worker must get through it in bounded time and memory. Each page is extracted by `govbrief extract` in a
fresh process (the figures are that process's user CPU and peak RSS). `--full` also runs each size with
trafilatura's jusText and readability fallbacks forced on (FULL_EXTRACTION_ELEMENTS raised above the page),
the behaviour before 2026-12-07: quadratic in the blocks (a run is stopped after --timeout seconds).
Pages of more than MAX_ELEMENTS elements (pipelines.extract.article) are refused at once (2026-12-08).

    .venv/bin/python bench/hostile_pages_bench.py --shapes [--size 250] [NAME ...]

`--shapes`: pages made of one repeated structure each (links sharing one parent, table cells, lines that
start alike, a place named thousands of times, ...), extraction and facts timed in this process at
--size KB and at four times that: a growth much above 4 x is a step that is quadratic in the page (three
were, fixed 2026-12-08: the neighbour links' items, joined paragraphs sharing their start, places).
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


# no date of its own: the page's neighbour links are then read for one (metadata_cn.neighbour_date)
_HEAD = "<html><head><title>某县召开项目推进会</title></head><body><h1>某县召开项目推进会</h1>"


def page(blocks: int) -> bytes:
    return (_HEAD + "<div><p>会议部署了工作。</p></div>\n" * blocks + "</body></html>").encode("utf-8")


# name -> (repeated unit, what wraps the repetition); {i} a running number, {d} a day of the month
SHAPES = {
    "links-one-parent": ('<a href="/a/t20220221_{i}.html">某县项目{i}</a>', "{}"),
    "links-in-items": ('<li><a href="/a/t20220221_{i}.html">某县项目{i}</a><span>2022-02-21</span></li>',
                       "<ul>{}</ul>"),
    "neighbour-links": ('<p><a href="/a/{i}.html">上一篇：某县项目{i}</a></p>', "{}"),
    "spans": ("<span>项目{i}</span>", "<p>{}</p>"),
    "breaks": ("项目建设{i}<br>", "<p>{}</p>"),
    "paragraphs": ("<p>县委书记张三在会上强调，全力推进项目建设{i}。</p>\n", "{}"),
    "blocks": ("<div><p>会议部署了工作{i}。</p></div>\n", "{}"),
    "table-rows": ("<tr><td>项目{i}</td><td>1.2亿元</td><td>2022年2月21日</td></tr>", "<table>{}</table>"),
    "one-row-of-cells": ("<td>项目{i}</td>", "<table><tr>{}</tr></table>"),
    "nested-tables": ("<table><tr><td><table><tr><td>项目{i}</td></tr></table></td></tr></table>", "{}"),
    "nested-lists": ("<ul><li>项目{i}<ul><li>子项</li></ul></li></ul>", "{}"),
    "headings": ("<h2>第{i}部分</h2><p>内容。</p>", "{}"),
    "lines-alike-in-a-cell": ("<p>按照年度计划安排，第{i}批重点项目已完成前期手续办理。</p>",
                              "<table><tr><td>{}</td></tr></table>"),
    "dates": ("<p>2022年02月{d}日 发布时间：2022-02-{d} 来源：县融媒体中心</p>", "{}"),
    "money": ("总投资{i}.5亿元，签约项目三十二个，", "<p>{}</p>"),
    "places": ("江苏省南京市江宁区{i}号项目，", "<p>{}</p>"),
    "officials": ("县委书记张{i}、县长李{i}，", "<p>{}</p>"),
    "one-paragraph": ("项目建设推进会议部署工作{i}", "<p>{}</p>"),
    "meta-tags": ('<meta name="k{i}" content="v{i}">', "{}"),
    "images": ('<img src="/img/{i}.jpg" alt="图{i}">', "{}"),
}


def shape_page(name: str, size: int) -> bytes:
    unit, wrap = SHAPES[name]
    parts, total, i = [], 0, 0
    while total < size:
        parts.append(unit.format(i=i, d=1 + i % 28))
        total += len(parts[-1].encode())
        i += 1
    return (_HEAD + wrap.format("".join(parts)) + "</body></html>").encode()


def shapes(names: list[str], size_kb: int) -> None:
    """CPU of extraction + facts of each shape at size_kb and 4 x size_kb, in this process (warm)."""
    import time

    from pipelines.extract.article import PageRefused, extract_article
    from pipelines.facts import extract_facts

    def cpu(body: bytes) -> tuple[float, str]:
        """(CPU seconds, " (refused)" or "")."""
        start = time.process_time()
        try:
            article = extract_article(body, "http://www.example.gov.cn/a/1.html", "text/html")  # no date in the URL
        except PageRefused:
            return time.process_time() - start, " (refused)"
        if article is not None:
            extract_facts(article.text, article.published, "江苏省", posted_near=article.posted_near)
        return time.process_time() - start, ""

    cpu(shape_page("paragraphs", 2_000))  # warm: tables and caches load once
    for name in names:
        (small, small_note), (large, large_note) = (cpu(shape_page(name, kb * 1000)) for kb in (size_kb, 4 * size_kb))
        print(f"{name:22} {size_kb:>5} KB {f'{small:.2f} s{small_note}':>18}   {4 * size_kb:>5} KB "
              f"{f'{large:.2f} s{large_note}':>18}   x {large / max(small, 0.01):.1f}", flush=True)


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
    parser.add_argument("--shapes", nargs="*", metavar="NAME",
                        help=f"one repeated structure a page: {', '.join(SHAPES)}")
    parser.add_argument("--size", type=int, default=250, help="--shapes: KB of the smaller page (the larger: 4 x)")
    args = parser.parse_args()
    if args.shapes is not None:
        shapes(args.shapes or list(SHAPES), args.size)
        return 0
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
