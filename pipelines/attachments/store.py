"""The attachments table: one row per (article, attachment URL), pointing at the capture of the file.

The crawl's capture path lists the file (`record_attachment`); processing extracts its text in a worker
(pipelines.attachments.text.extract_text) and the writer stores it (`store_attachment_text`), like an article's.

Columns: article_url, url (canonical key, as everywhere), link_text (what the article called it),
content_type, kind, size, sha256, capture_id, text (extracted, searchable), fetched_at.
"""

from __future__ import annotations

import sqlite_utils

from pipelines.attachments.text import extract_text, kind_of
from pipelines.search import search_index
from pipelines.store import storage
from pipelines.store.storage import Capture


def migrate_attachments(db: sqlite_utils.Database) -> None:
    """Migration 13: the attachments table and its indexes."""
    db["attachments"].create(
        {"id": int, "article_url": str, "url": str, "link_text": str, "content_type": str, "kind": str, "size": int,
         "sha256": str, "capture_id": int, "text": str, "source_id": str, "fetched_at": str},
        pk="id", if_not_exists=True)
    db["attachments"].create_index(["article_url", "url"], unique=True, if_not_exists=True)
    db["attachments"].create_index(["url"], if_not_exists=True)
    # The full-text index is pipelines/search's (built after the migrations; migration 61 dropped the
    # trigram index this step created until then: it found nothing for 2-character queries).


def drop_trigram_index(db: sqlite_utils.Database) -> None:
    """Migration 61: attachments are searched through pipelines/search's index (2-character queries
    too); sqlite-utils' trigram table and its triggers go."""
    if "attachments" in db.table_names() and db["attachments"].detect_fts():
        db["attachments"].disable_fts()


def known_attachment_urls(db: sqlite_utils.Database) -> set[str]:
    if "attachments" not in db.table_names():
        return set()
    return {r["url"] for r in db.query("select distinct url from attachments")}


def record_attachment(db: sqlite_utils.Database, capture: Capture, *, article_url: str, link_text: str,
                      run_id: int | None = None, text: str | None = None, processed: bool = False) -> int:
    """The capture path's part: store the file as a capture and list it under its article (idempotent
    per article and URL). Its text is processing's part (`extract_text`, in the workers: a PDF can
    take seconds of pure Python), written by `store_attachment_text`; until then `text` is NULL.
    processed=True: `text` is the file's text already (the capture does not wait for processing)."""
    capture_id = storage.insert_capture(db, capture, run_id=run_id, kind="attachment", waits=not processed)
    row = {"article_url": article_url, "url": capture.url, "link_text": link_text[:300],
           "content_type": capture.content_type, "kind": kind_of(capture.url, capture.content_type, capture.body),
           "size": len(capture.body), "sha256": capture.sha256, "capture_id": capture_id, "text": text,
           "source_id": capture.source_id, "fetched_at": capture.fetched_at}
    with db.conn:
        existing = db.execute("select id from attachments where article_url = ? and url = ?",
                              [article_url, capture.url]).fetchone()
        if existing:
            db["attachments"].update(existing[0], row)
            return existing[0]
        return db["attachments"].insert(row).last_pk


def store_attachment_text(db: sqlite_utils.Database, capture_id: int, text: str | None) -> None:
    """The text of the attachment stored as this capture, and its link text and text indexed for
    search (pipelines/search: the same Chinese substring index as articles, 2-character queries too)."""
    db.execute("update attachments set text = ? where capture_id = ?", [text, capture_id])
    for (attachment_id,) in db.execute("select id from attachments where capture_id = ?", [capture_id]).fetchall():
        search_index.index_row(db, search_index.ATTACHMENTS, attachment_id)


def archive_attachment(db: sqlite_utils.Database, capture: Capture, *, article_url: str, link_text: str,
                       run_id: int | None = None) -> int:
    """Both parts at once, in the calling thread (scale-out drains, which are processing already)."""
    text = extract_text(capture.body, capture.final_url or capture.url, capture.content_type)
    attachment_id = record_attachment(db, capture, article_url=article_url, link_text=link_text, run_id=run_id,
                                      text=text, processed=True)
    search_index.index_row(db, search_index.ATTACHMENTS, attachment_id)
    return attachment_id
