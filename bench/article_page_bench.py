"""CPU an article page costs the crawl's reactor thread, over a corpus of real pages.

    .venv/bin/python bench/article_page_bench.py ../shared/corpus/real-dev/manifest.jsonl

For every page of the manifest (corpus/FORMAT.md), what `GovSpider.parse_article` does before it
yields the capture (`crawler.discovery.article_page_links`): ask the raw bytes whether the page can
link an attachment or (a first page) a continuation page, and only then decode it, parse it and look
for what the bytes allow. Prints the pages decoded and the mean CPU a page. Run it with
PYTHONPATH=OTHER_TREE to compare two trees; a tree older than article_page_links is measured the way
its spider read an article page (its `may_link_further` gate, then both searches).
The bench site's pages never decode (they link neither), so this is what the throughput figure
cannot show for real portals (docs/architecture.md, session of 2026-12-07, third).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parent.parent))  # after PYTHONPATH: another tree can be measured

import crawler.discovery as discovery  # noqa: E402
from pipelines.extract.decode import decode_html  # noqa: E402


def reactor_work(body: bytes, url: str, content_type: str | None) -> bool:
    """What parse_article does with a first page (crawler.discovery.article_page_links); True when the
    page was decoded."""
    decoded = []

    def decode() -> str | None:
        decoded.append(True)
        return decode_html(body, content_type)[0]

    if hasattr(discovery, "article_page_links"):
        discovery.article_page_links(body, url, decode, first_page=True)
    elif discovery.may_link_further(body, url, first_page=True):  # the spider before 2026-12-07 (third)
        html = decode()
        doc = discovery.parse_html(html)
        if doc is not None:
            discovery.attachment_links(doc, url)
            discovery.article_parts(html, url, doc)
    return bool(decoded)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("manifest", type=Path, help="a corpus manifest.jsonl (corpus/FORMAT.md)")
    parser.add_argument("--repeat", type=int, default=3, help="passes over the pages; the fastest counts")
    args = parser.parse_args(argv)
    root = args.manifest.parent
    pages = []
    for line_no, line in enumerate(args.manifest.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            pages.append(((root / entry["page"]).read_bytes(), entry["url"], entry.get("content_type")))
        except (ValueError, KeyError, OSError) as exc:
            print(f"{args.manifest}:{line_no}: unreadable entry ({exc})", file=sys.stderr)
            return 2
    best, decoded = float("inf"), 0
    for _ in range(max(1, args.repeat)):
        started = time.process_time()
        decoded = sum(reactor_work(body, url, ctype) for body, url, ctype in pages)
        best = min(best, time.process_time() - started)
    print(f"{len(pages)} pages, {decoded} decoded in the reactor; {best / max(1, len(pages)) * 1000:.3f} ms "
          f"of CPU a page")
    return 0


if __name__ == "__main__":
    sys.exit(main())
