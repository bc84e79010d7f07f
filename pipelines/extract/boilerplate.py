"""Per-site boilerplate: lines that recur on many pages of one host are site chrome, not article.

NOT applied by the extraction since extractor v4: learned lines made the stored text depend on the
order in which a site was crawled, and the structural rule families reach the same figures without
them (real-dev F1 0.9505 without learning vs 0.9519 with it under v3; docs/extraction.md). The module
stays for its tables (migration 1) and as an analysis tool.

Spam rules (rules/spam.yml) know what chrome SAYS; this module learns what a site REPEATS: its menu
rows, contact blocks, footers, standing disclaimers, column names, whatever their wording. The crawl
sees many pages of every host, so each article capture is observed once (`observe_page`), and the
lines seen on a large share of a host's pages are handed to `extract_article(..., boilerplate=...)`
(`boilerplate_for_host`). `extract_manifest` does the same in memory with two passes.

A line is identified by `clean_rules.fingerprint` (whitespace removed, digits collapsed), so
"浏览次数：512" and "浏览次数：7956" are one line. Safeguards against learning article text:
  * pages that are copies of one article (same long lines: reposts, print views, column duplicates)
    count once (`PageLines.signature`);
  * only short lines are candidates (chrome is short; article paragraphs are long);
  * short sentence-final lines ("特此通知。") are never candidates: notices end with them.

Tables (sqlite, created by `ensure_boilerplate_schema`):
  boilerplate_hosts  host PK, pages (distinct pages observed), updated_at
  boilerplate_pages  (host, url) PK, signature (indexed with host): makes observing idempotent
  boilerplate_lines  (host, fp) PK, pages (how many observed pages had the line), last_page
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlite_utils
from lxml import etree

from pipelines.extract.clean_dom import page_lines, parse_html, strip_junk
from pipelines.extract.clean_rules import fingerprint
from pipelines.extract.decode import decode_html

# a line on at least MIN_SHARE of a host's pages, and on at least MIN_PAGES of them, is chrome
MIN_PAGES = 3
MIN_SHARE = 0.4
# the share is taken of at most WINDOW pages: on a host with 10,000 pages a line seen on 200 of them
# is chrome (a redesign's new footer must not need 4,000 pages to be learnt)
WINDOW = 500
MAX_LINE = 100  # longer lines are article paragraphs (or caught by the spam rules)
_SENTENCE_FINAL = ("。", "！", "？", "!", "?")
# singleton lines (seen on one page) not seen again within this many pages are forgotten
PRUNE_EVERY = 100


@dataclass(frozen=True)
class PageLines:
    fingerprints: frozenset[str]  # candidate chrome lines of the page
    signature: str  # identifies the page's article: copies of one article share it


def _candidate(fp: str) -> bool:
    if len(fp) < 2 or len(fp) > MAX_LINE:
        return False
    return not (fp.endswith(_SENTENCE_FINAL) and len(fp) < 15)


def lines_of_tree(doc: etree._Element) -> PageLines:
    """Fingerprints of one parsed page (scripts/styles already stripped)."""
    fps: set[str] = set()
    long_lines: list[str] = []
    for line in page_lines(doc):
        fp = fingerprint(line)
        if _candidate(fp):
            fps.add(fp)
        elif len(fp) > MAX_LINE:
            long_lines.append(fp)
    basis = "\n".join(sorted(long_lines)) if long_lines else "\n".join(sorted(fps))
    return PageLines(frozenset(fps), hashlib.sha1(basis.encode("utf-8")).hexdigest()[:16])


def lines_of_page(body: bytes, content_type: str | None = None) -> PageLines:
    """Fingerprints of one captured page (raw bytes as fetched)."""
    html, _ = decode_html(body, content_type)
    doc = parse_html(html)
    if doc is None:
        return PageLines(frozenset(), "")
    strip_junk(doc)
    return lines_of_tree(doc)


def threshold(n_pages: int) -> float:
    return max(MIN_PAGES, MIN_SHARE * min(n_pages, WINDOW))


def learn_boilerplate(pages: Iterable[PageLines]) -> frozenset[str]:
    """In memory: the chrome lines of one host from its pages (copies of one article count once)."""
    counts: Counter[str] = Counter()
    seen: set[str] = set()
    for page in pages:
        if not page.signature or page.signature in seen:
            continue
        seen.add(page.signature)
        counts.update(page.fingerprints)
    limit = threshold(len(seen))
    return frozenset(fp for fp, c in counts.items() if c >= limit)


# ------------------------------------------------------------------ the archive (sqlite)

def ensure_boilerplate_schema(db: sqlite_utils.Database) -> None:
    """Create the boilerplate tables and indexes. Idempotent (called from migrations.ensure_schema)."""
    db.execute("""CREATE TABLE IF NOT EXISTS boilerplate_hosts (
        host TEXT PRIMARY KEY, pages INTEGER NOT NULL DEFAULT 0, updated_at TEXT)""")
    db.execute("""CREATE TABLE IF NOT EXISTS boilerplate_pages (
        host TEXT NOT NULL, url TEXT NOT NULL, signature TEXT NOT NULL, counted INTEGER NOT NULL,
        PRIMARY KEY (host, url))""")
    db.execute("CREATE INDEX IF NOT EXISTS idx_boilerplate_pages_sig ON boilerplate_pages (host, signature)")
    db.execute("""CREATE TABLE IF NOT EXISTS boilerplate_lines (
        host TEXT NOT NULL, fp TEXT NOT NULL, pages INTEGER NOT NULL, last_page INTEGER NOT NULL,
        PRIMARY KEY (host, fp)) WITHOUT ROWID""")
    db.execute("CREATE INDEX IF NOT EXISTS idx_boilerplate_lines_pages ON boilerplate_lines (host, pages)")


def observe_lines(db: sqlite_utils.Database, host: str, url: str, page: PageLines) -> bool:
    """Record one page's lines for its host. Returns True when the page was counted (False: this URL
    was observed before, or the page is a copy of an article already observed)."""
    conn = db.conn
    if conn.execute("SELECT 1 FROM boilerplate_pages WHERE host = ? AND url = ?", (host, url)).fetchone():
        return False
    duplicate = conn.execute("SELECT 1 FROM boilerplate_pages WHERE host = ? AND signature = ? LIMIT 1",
                             (host, page.signature)).fetchone() is not None
    counted = bool(page.signature) and not duplicate
    with conn:
        conn.execute("INSERT INTO boilerplate_pages (host, url, signature, counted) VALUES (?, ?, ?, ?)",
                     (host, url, page.signature, int(counted)))
        if not counted:
            return False
        conn.execute("""INSERT INTO boilerplate_hosts (host, pages, updated_at) VALUES (?, 1, ?)
                        ON CONFLICT(host) DO UPDATE SET pages = pages + 1, updated_at = excluded.updated_at""",
                     (host, datetime.now(UTC).isoformat(timespec="seconds")))
        n = conn.execute("SELECT pages FROM boilerplate_hosts WHERE host = ?", (host,)).fetchone()[0]
        conn.executemany("""INSERT INTO boilerplate_lines (host, fp, pages, last_page) VALUES (?, ?, 1, ?)
                            ON CONFLICT(host, fp) DO UPDATE SET pages = pages + 1, last_page = excluded.last_page""",
                         [(host, fp, n) for fp in page.fingerprints])
        if n % PRUNE_EVERY == 0:
            # article lines are seen once; keep the table to roughly the chrome of each host
            conn.execute("DELETE FROM boilerplate_lines WHERE host = ? AND pages = 1 AND last_page <= ?",
                         (host, n - PRUNE_EVERY))
    return True


def observe_page(db: sqlite_utils.Database, host: str, body: bytes, url: str,
                 content_type: str | None = None) -> bool:
    """Record the candidate chrome lines of one captured page (call once per article capture)."""
    return observe_lines(db, host, url, lines_of_page(body, content_type))


def boilerplate_for_host(db: sqlite_utils.Database, host: str) -> frozenset[str]:
    """The learned chrome lines of a host (fingerprints), read from the archive (no cache: the answer
    depends on the archive's state only, never on which connection asked before)."""
    row = db.conn.execute("SELECT pages FROM boilerplate_hosts WHERE host = ?", (host,)).fetchone()
    n = row[0] if row else 0
    if n < MIN_PAGES:
        return frozenset()
    return frozenset(r[0] for r in db.conn.execute(
        "SELECT fp FROM boilerplate_lines WHERE host = ? AND pages >= ?", (host, threshold(n))))
