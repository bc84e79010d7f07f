"""The one writer of processing results: `store_processed(db, results)`, one transaction per batch.

For every ProcessedCapture (pipelines.process.steps), in capture order:
  * its chrome lines are observed for the host's boilerplate knowledge (idempotent per URL);
  * if the host's learned lines changed, since the task was made, in a way that touches this page,
    the capture is handed back for one more pass (`requeue`) instead of being written with stale
    knowledge: the first pages of a new site are extracted again once its chrome is known;
  * the article is upserted (search index included) or, without article text, the reason lands in
    fetch_errors (a later run retries the URL);
  * the capture is marked processed: in the same transaction, so a kill -9 leaves every capture
    either fully written or still waiting, never half.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlite_utils

from pipelines.extract import boilerplate
from pipelines.process.pending import mark_processed
from pipelines.process.steps import ProcessedCapture
from pipelines.store import storage


@dataclass
class Written:
    capture_id: int
    source_id: str | None
    article_id: int | None = None
    created: bool = False
    changed: bool = False  # title, text or date differ from the row before (re-extraction)
    requeue: bool = False
    error: str | None = None  # processing failed, or "no article text ..."


def store_processed(db: sqlite_utils.Database, results: list[ProcessedCapture], *, learn: bool = True,
                    record_errors: bool = True, regions: dict[str | None, str | None] | None = None) -> list[Written]:
    """Write a batch of processing results in one transaction (see the module docstring).

    learn=False (re-extraction of the whole archive): boilerplate knowledge is used, not updated,
    and nothing is requeued. record_errors=False: pages without text are not logged as failures.
    regions: source id -> region, over the `sources` table's."""
    regions = {r["id"]: r["region"] for r in db.query("select id, region from sources")} | (regions or {})
    now = storage.utc_now()
    written: list[Written] = []
    results = sorted(results, key=lambda r: r.capture_id)
    with db.conn:
        if learn:
            for result in results:
                if result.lines is not None and result.host:
                    boilerplate.observe_lines(db, result.host, result.final_url, result.lines)
        for result in results:
            if learn and result.attempt == 1 and result.lines is not None and result.host:
                current = boilerplate.boilerplate_for_host(db, result.host, exact=True)
                if (current ^ result.boilerplate) & result.lines.fingerprints:
                    written.append(Written(result.capture_id, result.source_id, requeue=True))
                    continue
            written.append(_write_one(db, result, regions, now, record_errors))
    return written


def _write_one(db: sqlite_utils.Database, result: ProcessedCapture, regions: dict, now: str,
               record_errors: bool) -> Written:
    out = Written(result.capture_id, result.source_id)
    with db.conn:  # a savepoint: a row SQLite refuses undoes this capture only
        if result.article is None:
            out.error = result.error or empty_reason(result)
            already = db.execute("select 1 from fetch_errors where url = ? and run_id is ? and reason = ?",
                                 [result.url, result.run_id, out.error]).fetchone()
            if record_errors and not already:  # a capture processed twice is recorded once
                storage.record_fetch_errors(db, result.run_id, [{
                    "source_id": result.source_id, "url": result.url, "kind": "article", "reason": out.error,
                    "status": result.status}])
        else:
            row = storage.article_row(result.article, source_id=result.source_id,
                                      region=regions.get(result.source_id), capture_id=result.capture_id,
                                      fetched_at=result.fetched_at)
            before = next(db.query("select title, text, published from articles where url = ?", [row["url"]]),
                          None)
            out.article_id, out.created = storage.upsert_article(db, row)
            out.changed = before != {"title": row["title"], "text": row["text"], "published": row["published"]}
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
