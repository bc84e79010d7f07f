"""Drain the Redis capture queue into the archive: `govbrief process --redis URL --db PATH`.

A thin loop: each queue item (pipelines/scaleout/captures.py) becomes a Capture (or a fetch error, a
frontier row, a run record) and is handed to ONE function, `store_capture` — the same processing and
storage a local crawl does (pipelines.process.archive). To move the drain onto another processing
entry point (batched, worker processes), change `store_capture` only.

Nothing lost, nothing doubled:
- an item is acked (removed from this consumer's processing list) only after the archive committed it;
- a capture delivered twice is stored once: (url, sha256, fetched_at) identifies a capture, and one
  already in `captures` is skipped; run records are keyed by worker; frontier writes are idempotent;
- Redis restarted empty: the seen-set is re-seeded from the archive (every archived article URL) and
  the archive's unfinished work (failed fetches, frontier) is published for the next run to resume.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import sqlite_utils

from pipelines.process.archive import archive_capture
from pipelines.scaleout import captures
from pipelines.scaleout.state import SharedState
from pipelines.store import frontier, storage
from pipelines.store.storage import Capture

logger = logging.getLogger(__name__)



class StorageStopped(RuntimeError):
    """The archive cannot be written (disk full, I/O error): the drain stops, the item stays queued."""


def store_capture(db: sqlite_utils.Database, capture: Capture, *, kind: str, region: str | None,
                  run_id: int | None, message: dict | None = None) -> dict[str, Any]:
    """Process and store one capture exactly as a local crawl does. The one re-pointable call."""
    message = message or {}
    if kind == "recheck":
        from pipelines.recheck import policy as recheck

        return {"recheck": recheck.apply_recheck(db, capture, region=region, run_id=run_id)}
    if kind == "attachment":
        from pipelines.attachments.store import archive_attachment

        with db.conn:
            attachment_id = archive_attachment(db, capture, article_url=message.get("article_url", ""),
                                               link_text=message.get("link_text", ""), run_id=run_id)
            frontier.mark_done(db, capture.source_id, [capture.url], kind="attachment")
        return {"attachment_id": attachment_id}
    archived = archive_capture(db, capture, region=region, run_id=run_id, parts=captures.part_captures(message))
    return {"article_id": archived.article_id, "created": archived.created}


def capture_stored(db: sqlite_utils.Database, url: str, sha256: str, fetched_at: str) -> bool:
    return next(db.query("select 1 from captures where url = ? and sha256 = ? and fetched_at = ? limit 1",
                         [url, sha256, fetched_at]), None) is not None


# ---------------------------------------------------------------- seeding the shared state


def resume_seeds(db: sqlite_utils.Database, source_ids: list[str]) -> dict[str, dict]:
    """What the archive's frontier says is unfinished, per source (pipelines/store/frontier.plan): article
    URLs pending or failed and due for another try, list pages not done (a POSTed jpage range is resumed
    from its column page)."""
    out = {}
    for source_id in source_ids:
        plan = frontier.plan(db, source_id)
        out[source_id] = {"articles": sorted(plan.articles),
                          "lists": [[queued.url, queued.depth] for queued in plan.lists]}
    return out


def seed_shared_state(db: sqlite_utils.Database, state: SharedState, label: str, *, force: bool = False) -> int | None:
    """Seed the seen-set from the archive when Redis has no seed (new, restarted or flushed); always
    republish the resume seeds. Returns how many URLs were seeded (None: it was seeded already)."""
    seeded = None
    if force or not state.is_seeded():
        seeded = state.seed_from_archive(storage.known_article_urls(db), label)
        logger.info("seeded the shared seen-set with %s archived article URLs", seeded)
    source_ids = [r["id"] for r in db.query("select id from sources order by id")]
    state.publish_resume(resume_seeds(db, source_ids))
    return seeded


# ---------------------------------------------------------------- the drain


class Drain:
    """Turns queue items into archive writes; a worker's run record is found by crawl_runs.worker."""

    def __init__(self, db: sqlite_utils.Database, state: SharedState):
        self.db = db
        self.state = state
        self.counts: Counter = Counter()
        self.new_by_run: Counter = Counter()
        self._regions: dict[str, str | None] = {}

    def handle(self, raw: bytes) -> bool:
        """Process one item: True when stored, False for an item that cannot be (kept aside by the caller);
        StorageStopped if the archive cannot be written (the item is not acked)."""
        message: dict = {}
        try:
            message = captures.decode(raw)
            handler = getattr(self, f"_on_{message['type']}", None)
            if handler is None:
                raise ValueError(f"unknown item type {message['type']!r}")
            handler(message)
        except Exception as exc:
            if storage.is_storage_failure(exc):
                raise StorageStopped(str(exc)) from exc
            # A malformed or foreign item: say which, keep draining.
            self.counts["bad_items"] += 1
            logger.error("queue item set aside in %s (%s): %r", captures.bad_key(self.state.prefix),
                         captures.message_summary(message), exc)
            return False
        return True

    def _run_id(self, message: dict) -> int:
        """The crawl_runs row of the message's worker (crawl_runs.worker, migration 60), made if new."""
        worker = message["worker"]
        row = next(self.db.query("select id from crawl_runs where worker = ? order by id desc limit 1", [worker]),
                   None)
        if row:
            return row["id"]
        return storage.start_run(self.db, message.get("source_ids") or [], worker=worker)

    def _region(self, source_id: str) -> str | None:
        if source_id not in self._regions:
            row = next(self.db.query("select region from sources where id = ?", [source_id]), None)
            self._regions[source_id] = row["region"] if row else None
        return self._regions[source_id]

    def _on_run_start(self, message: dict) -> None:
        sources = [SimpleNamespace(**s, as_dict=lambda s=s: s) for s in message.get("sources", [])]
        storage.upsert_sources(self.db, sources)
        self._regions.clear()
        self._run_id(message)
        self.counts["runs"] += 1

    def _on_capture(self, message: dict) -> None:
        if capture_stored(self.db, message["url"], message["sha256"], message["fetched_at"]):
            self.counts["duplicates"] += 1  # delivered twice (a consumer died before its ack): stored once
            return
        capture = captures.to_capture(message)
        run_id = self._run_id(message)
        try:
            outcome = store_capture(self.db, capture, kind=message.get("kind", "article"),
                                    region=self._region(capture.source_id), run_id=run_id, message=message)
        except Exception as exc:  # one page the extractor chokes on: recorded (retried next run), as locally
            if storage.is_storage_failure(exc):
                raise
            logger.exception("could not archive %s", capture.url)
            storage.record_fetch_errors(self.db, run_id, [{
                "source_id": capture.source_id, "url": capture.url, "kind": message.get("kind", "article"),
                "reason": f"archive failed: {exc!r}"[:500], "status": capture.status, "at": capture.fetched_at}])
            self.counts["archive_failed"] += 1
            return
        self.counts["captures"] += 1
        if outcome.get("created"):
            self.counts["articles_new"] += 1
            self.new_by_run[run_id] += 1
        elif "article_id" in outcome and outcome["article_id"] is None:
            storage.record_fetch_errors(self.db, run_id, [{
                "source_id": capture.source_id, "url": capture.url, "kind": "article",
                "reason": "no article text", "status": capture.status, "at": capture.fetched_at}])

    def _on_errors(self, message: dict) -> None:
        run_id = self._run_id(message)
        fresh = [row for row in message["rows"] if next(self.db.query(
            "select 1 from fetch_errors where run_id = ? and url = ? and kind = ? and at = ? limit 1",
            [run_id, row["url"], row["kind"], row.get("at")]), None) is None]
        storage.record_fetch_errors(self.db, run_id, fresh)
        self.counts["fetch_errors"] += len(fresh)

    def _on_write(self, message: dict) -> None:
        function, args, kwargs = captures.write_call(message)
        getattr(frontier, function)(self.db, *args, **kwargs)

    def _on_run_end(self, message: dict) -> None:
        run_id = self._run_id(message)
        storage.finish_run(self.db, run_id, status=message["status"], exit_status=message["exit_status"],
                           pages_fetched=message.get("pages_fetched"), list_pages=message.get("list_pages"),
                           articles_new=self.new_by_run.pop(run_id, 0), articles_known=message.get("articles_known"),
                           errors=message.get("errors"), message=message.get("message"), stats=message.get("stats"))
        if message.get("reason") == "finished":  # walked to the end once: from now on incremental
            for source_id in message.get("source_ids") or []:
                frontier.settle_backlog(self.db, source_id)

    def close_orphan_runs(self) -> int:
        """Run records of workers that died without a run_end (kill -9, or Redis lost their messages):
        called when no worker runs and the queue is empty, so nothing of theirs is still coming."""
        orphans = [r["id"] for r in self.db.query(
            "select id from crawl_runs where status = 'running' and worker is not null")]
        for run_id in orphans:
            storage.finish_run(self.db, run_id, status="interrupted", exit_status=1,
                               articles_new=self.new_by_run.pop(run_id, 0),
                               message="interrupted: the worker stopped before finishing (its requests were requeued)")
        return len(orphans)


def drain(db: sqlite_utils.Database, state: SharedState, consumer: captures.CaptureConsumer, *,
          follow: bool = False, poll_s: float = 1.0, label: str = "archive",
          should_stop: Callable[[], bool] = lambda: False) -> Counter:
    """Drain until the queue is empty and no worker is running (follow: until should_stop()).

    Raises StorageStopped when the archive cannot be written; what was taken and not stored goes
    back to the queue."""
    consumer.register()
    consumer.requeue_dead()
    seed_shared_state(db, state, label)
    worker = Drain(db, state)
    beat_every = max(1.0, consumer.ttl / 3)
    last_beat, idle_published = time.monotonic(), False
    try:
        while not should_stop():
            if time.monotonic() - last_beat > beat_every:
                consumer.heartbeat()
                consumer.requeue_dead()
                last_beat = time.monotonic()
            raw = consumer.take(poll_s)
            if raw is not None:
                if not worker.handle(raw):
                    state.redis.lpush(captures.bad_key(state.prefix), raw)  # kept for a person to look at
                consumer.ack(raw)
                idle_published = False
                continue
            if not state.is_seeded():  # Redis came back empty while we ran
                seed_shared_state(db, state, label)
            # Workers first, then the backlog: a worker pushes its last item before it deregisters.
            if state.workers_alive() == 0 and consumer.backlog() == 0:
                if not idle_published:  # a run just ended: what it left unfinished is for the next one
                    worker.close_orphan_runs()
                    seed_shared_state(db, state, label)
                    idle_published = True
                if not follow:
                    break
    finally:
        consumer.leave()
    return worker.counts
