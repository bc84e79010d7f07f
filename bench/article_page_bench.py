"""CPU an article page costs the crawl's reactor thread, over a corpus of real pages.

    .venv/bin/python bench/article_page_bench.py ../shared/corpus/real-dev/manifest.jsonl

For every page of the manifest (corpus/FORMAT.md), what `GovSpider.parse_article` does before it
yields the capture: ask the raw bytes whether the page can link an attachment or (a first page) a
continuation page, and only then decode it, parse it and look for what the bytes allow. Prints the
pages decoded and the mean CPU a page. Run it with PYTHONPATH=OTHER_TREE to compare two trees; an older
tree without `may_link_attachments` is measured through its `may_link_further` gate, as its spider did.
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
from crawler.discovery import article_parts, attachment_links, parse_html  # noqa: E402
from pipelines.extract.decode import decode_html  # noqa: E402


def reactor_work(body: bytes, url: str, content_type: str | None) -> bool:
    """parse_article's work on a first page; True when the page was decoded."""
    if hasattr(discovery, "may_link_attachments"):
        attachments = discovery.may_link_attachments(body)
        parts = discovery.may_have_parts(body, url)
    else:  # the gate before 2026-12-07 (third session): one answer for both
        attachments = parts = discovery.may_link_further(body, url, first_page=True)
    if not (attachments or parts):
        return False
    html = decode_html(body, content_type)[0]
    doc = parse_html(html)
    if doc is not None:
        if attachments:
            attachment_links(doc, url)
        if parts:
            article_parts(html, url, doc)
    return True


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
