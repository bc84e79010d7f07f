"""Capture -> article -> archive: the plain functions the Scrapy pipeline and `reextract` share."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import sqlite_utils

from pipelines.extract.article import extract_article
from pipelines.facts import extract_facts
from pipelines.facts.store import store_facts
from pipelines.store import storage
from pipelines.store.storage import Capture
from pipelines.urls import looks_like_article_url, looks_like_list_url


@dataclass
class Archived:
    capture_id: int
    article_id: int | None  # None: the page held no article text
    created: bool
    reason: str | None = None  # why there is no article, when it is not simply "no article text"


def extract_capture(db: sqlite_utils.Database, capture: Capture):
    """The article of one capture: a function of the capture alone (extractor v4 learns nothing per
    site), so the crawl, `reextract` and re-checks store the same text whatever the crawl order."""
    del db  # kept in the signature for callers; nothing per-site is read any more
    return extract_article(capture.body, capture.final_url or capture.url, capture.content_type)


def not_an_article(capture: Capture) -> str | None:
    """Why a fetched response can never be an article row, or None.

    - not HTML: a PDF, spreadsheet or archive served where an article link pointed (attachments are
      archived as such, never as articles); HTML is recognised by its Content-Type, or by its first
      bytes when the header is missing or generic;
    - a soft 404: the article URL redirected to the site's home page or to a list page (deleted
      articles on most CMS), recorded as dead rather than archived as an article."""
    content_type = (capture.content_type or "").split(";")[0].strip().lower()
    head = capture.body[:1024].lstrip().lower()
    sniffed_html = head.startswith((b"<!doctype html", b"<html", b"<?xml")) or b"<html" in head
    if content_type and "html" not in content_type and not (
            content_type in ("application/octet-stream", "text/plain") and sniffed_html):
        return f"not an article: {content_type} response"
    if not content_type and not sniffed_html:
        return "not an article: not HTML"
    final, asked = capture.final_url or capture.url, capture.url
    if final != asked:
        path = urlsplit(final).path
        if path in ("", "/") or path.rsplit("/", 1)[-1].lower() in ("index.html", "index.htm", "index.shtml",
                                                                    "default.html", "default.htm"):
            if not looks_like_article_url(final):
                return f"soft 404: redirected to the home or column page {final}"
        elif looks_like_list_url(final) and not looks_like_article_url(final):
            return f"soft 404: redirected to a list page {final}"
    return None


def archive_capture(db: sqlite_utils.Database, capture: Capture, *, region: str | None,
                    run_id: int | None = None, parts: list[Capture] | tuple = ()) -> Archived:
    """Store the raw capture, extract its article and upsert it (keyed by the requested URL).

    `parts`: the later pages of an article split over pages (t…_1.html, t…_2.html), in order. Each is
    stored as a capture of its own (linked to the first by captures.part_of/part_no); the article is the
    first page's, with the pages' texts joined in order."""
    capture_id = storage.insert_capture(db, capture, run_id=run_id)
    for number, part in enumerate(parts, start=1):
        part_id = storage.insert_capture(db, part, run_id=run_id)
        with db.conn:
            db.execute("update captures set part_of = ?, part_no = ? where id = ?", [capture_id, number, part_id])
    refusal = not_an_article(capture)
    if refusal:
        return Archived(capture_id, None, False, refusal)
    article = extract_capture(db, capture)
    if article is None:
        return Archived(capture_id, None, False)
    if parts:
        join_parts(article, [extract_capture(db, part) for part in parts])
    article.url = capture.url
    row = storage.article_row(article, source_id=capture.source_id, region=region, capture_id=capture_id,
                              fetched_at=capture.fetched_at)
    article_id, created = storage.upsert_article(db, row)
    # facts (issue 15): a pure function of the stored row, then one write beside the article
    store_facts(db, article_id, extract_facts(row["text"], row["published"], region))
    return Archived(capture_id, article_id, created)


def join_parts(article, later_pages: list) -> None:
    """One article from the pages of a multi-page article: texts joined in page order."""
    pages = [page for page in later_pages if page is not None and page.text]
    if not pages:
        return
    article.text = "\n\n".join([article.text, *(page.text for page in pages)])
    if article.text_simplified is not None:
        article.text_simplified = "\n\n".join(
            [article.text_simplified, *((page.text_simplified or page.text) for page in pages)])


def part_captures(db: sqlite_utils.Database, capture_id: int) -> list[Capture]:
    """The later pages stored with a multi-page article's first capture, in order."""
    if "part_of" not in db["captures"].columns_dict:
        return []
    return [storage.load_capture(row) for row in db.query(
        "select * from captures where part_of = ? order by part_no", [capture_id])]


def migrate_capture_parts(db: sqlite_utils.Database) -> None:
    """Migration 14: captures.part_of / part_no link the later pages of a multi-page article to its first."""
    columns = db["captures"].columns_dict
    for name in ("part_of", "part_no"):
        if name not in columns:
            db.execute(f"ALTER TABLE captures ADD COLUMN [{name}] INTEGER")
    db["captures"].create_index(["part_of"], if_not_exists=True)


def reextract_all(db: sqlite_utils.Database) -> dict[str, int]:
    """Rebuild every article from its stored capture, without network. Returns counts."""
    regions = {r["id"]: r["region"] for r in db.query("select id, region from sources")}
    counts = {"articles": 0, "changed": 0, "empty": 0}
    for capture_id, capture in list(storage.iter_article_captures(db)):
        counts["articles"] += 1
        article = extract_capture(db, capture)
        if article is None:
            counts["empty"] += 1
            continue
        join_parts(article, [extract_capture(db, part, learn=False) for part in part_captures(db, capture_id)])
        article.url = capture.url
        row = storage.article_row(article, source_id=capture.source_id, region=regions.get(capture.source_id),
                                  capture_id=capture_id, fetched_at=capture.fetched_at)
        before = next(db.query("select title, text, published from articles where url = ?", [row["url"]]), None)
        article_id, _created = storage.upsert_article(db, row)
        # facts (issue 15): recomputed for every article, whether its text changed or the rules did
        store_facts(db, article_id, extract_facts(row["text"], row["published"], row["region"]))
        if before != {"title": row["title"], "text": row["text"], "published": row["published"]}:
            counts["changed"] += 1
    return counts
