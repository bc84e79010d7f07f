"""Capture -> article -> archive: the plain functions the Scrapy pipeline and `reextract` share."""

from __future__ import annotations

from dataclasses import dataclass

import sqlite_utils

from pipelines.extract.article import extract_article
from pipelines.store import storage
from pipelines.store.storage import Capture


@dataclass
class Archived:
    capture_id: int
    article_id: int | None  # None: the page held no article text
    created: bool


def extract_capture(db: sqlite_utils.Database, capture: Capture):
    """The article of one capture: a function of the capture alone (extractor v4 learns nothing per
    site), so the crawl, `reextract` and re-checks store the same text whatever the crawl order."""
    del db  # kept in the signature for callers; nothing per-site is read any more
    return extract_article(capture.body, capture.final_url or capture.url, capture.content_type)


def archive_capture(db: sqlite_utils.Database, capture: Capture, *, region: str | None,
                    run_id: int | None = None) -> Archived:
    """Store the raw capture, extract its article and upsert it (keyed by the requested URL)."""
    capture_id = storage.insert_capture(db, capture, run_id=run_id)
    article = extract_capture(db, capture)
    if article is None:
        return Archived(capture_id, None, False)
    article.url = capture.url
    row = storage.article_row(article, source_id=capture.source_id, region=region, capture_id=capture_id,
                              fetched_at=capture.fetched_at)
    article_id, created = storage.upsert_article(db, row)
    return Archived(capture_id, article_id, created)


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
        article.url = capture.url
        row = storage.article_row(article, source_id=capture.source_id, region=regions.get(capture.source_id),
                                  capture_id=capture_id, fetched_at=capture.fetched_at)
        before = next(db.query("select title, text, published from articles where url = ?", [row["url"]]), None)
        storage.upsert_article(db, row)
        if before != {"title": row["title"], "text": row["text"], "published": row["published"]}:
            counts["changed"] += 1
    return counts
