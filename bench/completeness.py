"""Crawl completeness on sites never seen before, and what a second run costs.

    .venv/bin/python bench/completeness.py            # figures in docs/crawling.md

Serves tests/unseenweb.py (ten pager shapes, a Hanweb jpage column, an iframe list, sitemaps announced by
robots.txt, a multi-page article, attachments, a soft 404, a spreadsheet behind an article link, a dead
link), crawls it with `govbrief crawl` twice into a fresh archive and prints: articles expected / archived
/ extra / duplicates, attachments, requests of each run, article fetches of the second run, exit codes.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from support import run_crawl  # noqa: E402
from unseenweb import start_unseen_web  # noqa: E402


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="govbrief-completeness-") as tmp, start_unseen_web() as web:
        sources, db = Path(tmp) / "sources.yml", Path(tmp) / "archive.db"
        sources.write_text(web.sources_yaml(), encoding="utf-8")
        expected = web.expected_articles()
        article_paths = {u.removeprefix(web.url("")) for u in expected}
        runs = []
        for _ in range(2):
            before, started = len(web.hits), time.monotonic()
            result = run_crawl(sources, db)
            hits = web.hits[before:]
            runs.append({"exit": result.returncode, "seconds": round(time.monotonic() - started, 1),
                         "requests": len(hits), "article_fetches": sum(p in article_paths for _, p in hits)})
        conn = sqlite3.connect(db)
        urls = [r[0] for r in conn.execute("select url from articles")]
        attachments = conn.execute("select count(*), count(text) from attachments").fetchone()
        conn.close()
    figures = {"sources": web.sources_yaml().count("- {id:"), "articles_expected": len(expected),
               "articles_archived": len(set(urls) & expected), "extra": len(set(urls) - expected),
               "duplicates": len(urls) - len(set(urls)), "attachments": attachments[0],
               "attachments_with_text": attachments[1], "runs": runs}
    print(json.dumps(figures, ensure_ascii=False, indent=1))
    ok = (figures["articles_archived"] == len(expected) and not figures["extra"] and not figures["duplicates"]
          and runs[1]["article_fetches"] == 0 and runs[1]["exit"] == 0)
    print("PASS" if ok else "FAIL", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
