"""The one writer of processing results: `store_processed(db, results)`, one transaction per batch.

For every ProcessedCapture (pipelines.process.steps), in capture order:
  * an attachment's file: its text is written to its attachments row (nothing else changes);
  * the article is upserted and its frontier row is done (its facts replaced once the batch's
    articles are written: pipelines.facts.store.store_facts_many, a statement per table); or,
    without article text (or not an article at all: not HTML, a soft 404), the reason lands in
    fetch_errors (category no_article) and the frontier row is failed with a backoff, so a later
    run looks at the URL again, not every night;
  * the capture is marked processed: in the same transaction, so a kill -9 leaves every capture
    either fully written or still waiting, never half;
  * last, the batch's articles are added to the search index together (one FTS5 segment per batch).
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlite_utils

from pipelines.attachments.store import store_attachment_text
from pipelines.facts.store import store_facts_many
from pipelines.process.pending import mark_processed
from pipelines.process.tasks import ProcessedCapture
from pipelines.search import search_index
from pipelines.store import frontier, storage


def prepare_writer() -> None:
    """Load what the first batch would otherwise load while holding the write lock: the search index's
    fold table (~0.1 s: every CJK character through OpenCC) and the facts' extraction module (its
    tables, yaml). A crawl's processing process calls it while the crawl starts up (it has nothing else
    to do then); the processing loop calls it (again: a no-op then) after it has fed the workers their
    first captures: the writer is waiting for results then, so the workers never run dry behind a first
    write that took three times as long as the others (0.34 s against 0.12 s for 100 articles)."""
    from pipelines.facts import extract  # noqa: F401  (project_rows folds through it)

    search_index.fold_table()


@dataclass
class Written:
    capture_id: int
    source_id: str | None
    article_id: int | None = None
    created: bool = False
    changed: bool = False  # title, text or date differ from the row before (re-extraction)
    error: str | None = None  # processing failed, "no article text ...", or why it is no article
    attachment: bool = False  # the capture was an attachment's file: its text was written, no article


def store_processed(db: sqlite_utils.Database, results: list[ProcessedCapture], *, record_errors: bool = True,
                    regions: dict[str | None, str | None] | None = None) -> list[Written]:
    """Write a batch of processing results in one transaction (see the module docstring).

    record_errors=False (re-extraction of the whole archive): pages without text are neither logged as
    failures nor touch the frontier. regions: source id -> region, over the `sources` table's."""
    regions = {r["id"]: r["region"] for r in db.query("select id, region from sources")} | (regions or {})
    now = storage.utc_now()
    with db.conn:
        facts: list[tuple[dict, list[dict]]] = []  # (article as written, its facts), stored together
        written = [_write_one(db, result, regions, now, record_errors, facts)
                   for result in sorted(results, key=lambda r: r.capture_id)]
        store_facts_many(db, facts)
        # the batch's articles indexed together, outside the per-capture savepoints (one FTS5 segment)
        search_index.index_rows(db, search_index.ARTICLES, [w.article_id for w in written if w.article_id])
        return written


def _write_one(db: sqlite_utils.Database, result: ProcessedCapture, regions: dict, now: str,
               record_errors: bool, facts: list[tuple[dict, list[dict]]]) -> Written:
    out = Written(result.capture_id, result.source_id)
    with db.conn:  # a savepoint: a row SQLite refuses undoes this capture only
        if result.kind == "attachment":
            out.attachment = True
            store_attachment_text(db, result.capture_id, result.attachment_text)
        elif result.article is None:
            out.error = result.refusal or result.error or empty_reason(result)
            already = db.execute("select 1 from fetch_errors where url = ? and run_id is ? and reason = ?",
                                 [result.url, result.run_id, out.error]).fetchone()
            if record_errors and not already:  # a capture processed twice is recorded once
                category = None if out.error.startswith("processing failed") else "no_article"
                storage.record_fetch_errors(db, result.run_id, [{
                    "source_id": result.source_id, "url": result.url, "kind": "article", "reason": out.error,
                    "status": result.status, "category": category}])
            if record_errors and result.source_id is not None:
                # fetched fine but no article: dead, looked at again on a backoff (a processing failure
                # is a bug of ours: retried by the next run)
                frontier.mark_failed(db, result.source_id, result.url, "article", out.error,
                                     permanent=not out.error.startswith("processing failed"))
        else:
            row = storage.article_row(result.article, source_id=result.source_id,
                                      region=regions.get(result.source_id), capture_id=result.capture_id,
                                      fetched_at=result.fetched_at)
            # a plain execute: sqlite-utils' query() wraps every look-up in a savepoint of its own
            before = db.execute("select title, text, published from articles where url = ?", [row["url"]]).fetchone()
            out.article_id, out.created = storage.upsert_article(db, row, index=False)
            out.changed = before != (row["title"], row["text"], row["published"])
            facts.append(({"id": out.article_id, "url": row["url"], "published": row["published"],
                           "text": row["text"]}, result.facts))
            if record_errors and result.source_id is not None:
                frontier.mark_done(db, result.source_id, [result.url])
        mark_processed(db, result.capture_id, now)
    return out


def empty_reason(result: ProcessedCapture) -> str:
    """Why a fetched page gave no article: an anti-bot challenge served with 200 says so."""
    try:
        from pipelines.recheck import policy as recheck

        verdict = recheck.classify_response(result.status, result.headers, result.head,
                                            url=result.url, final_url=result.final_url)
    except Exception:  # classification is a nicety (odd bytes): the fact stays
        return "no article text"
    if verdict.state == recheck.CHALLENGE:
        return f"no article text: anti-bot challenge page ({verdict.detail or verdict.reason})"
    return "no article text"
