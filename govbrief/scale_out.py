"""`govbrief crawl --redis URL` (a scale-out worker) and `govbrief process --redis URL --db PATH` (the drain).

Kept apart from cli.py so the local commands stay as they are; docs/scale-out.md tells the whole story.
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import signal
import socket
from collections import Counter
from pathlib import Path

from crawler.health import EXIT_BAD_INPUT, EXIT_OK, EXIT_STORAGE, EXIT_UNHEALTHY
from govbrief.runs import (
    cluster_reposts,
    fail,
    lock_and_open,
    open_archive,
    report_run,
    run_scrapy,
    storage_hint,
)


def crawl_worker(args: argparse.Namespace, source_ids: list[str]) -> int:
    """One crawl worker. Without --db its captures go to Redis; with --db it writes the archive itself
    (no run lock then: `govbrief process` and other workers share the file, WAL serialises the writes)."""
    import redis

    from crawler import redis_mode
    from pipelines.process.redis_queue import seed_shared_state
    from pipelines.scaleout.state import RedisUnavailable, SharedState, connect
    from pipelines.store import storage

    try:
        state = SharedState(connect(args.redis))
    except RedisUnavailable as exc:
        return fail(str(exc))
    run_id = None
    if args.db:
        try:
            db = open_archive(args.db, check=True)
        except ValueError as exc:
            return fail(str(exc))
        try:
            seed_shared_state(db, state, label=args.db)
            run_id = storage.start_run(db, source_ids)
        finally:
            db.close()
    elif not state.is_seeded():
        return fail(f"{args.redis}: Redis does not hold the archive's seen-set (a new, restarted or flushed "
                     f"server): run `govbrief process --redis {args.redis} --db ARCHIVE` once, it seeds Redis "
                     "from the archive; then start the workers again", EXIT_BAD_INPUT)
    report: dict = {}
    try:
        status, storage_error = run_scrapy(
            args, run_id, configure=lambda s: redis_mode.configure(s, args.redis, local_archive=bool(args.db)),
            report=report)
    except redis.RedisError as exc:
        return fail(f"{args.redis}: lost the Redis server ({exc}); what this worker took is put back when "
                     "its heartbeat expires", EXIT_UNHEALTHY)
    spider = report.get("spider")
    if args.db:
        _record_run_verdict(args.db, run_id, getattr(spider, "run_verdict", None), storage_error)
        return report_run(args.db, run_id, status, storage_error)
    verdict = getattr(spider, "verdict", None)
    if verdict is None:
        return fail("the worker ended without a verdict (see the log above)", EXIT_UNHEALTHY)
    totals = sum(spider.source_stats.values(), Counter())
    print(f"worker {spider.shared.id}, run {spider.shared.run_id}: {verdict.status}: {verdict.message} "
          f"(list pages {totals['list_ok']}, articles fetched {totals['article_ok']}, "
          f"errors {sum(v for k, v in totals.items() if k.endswith('_failed'))})")
    return verdict.exit_status


def _record_run_verdict(db_path: str, run_id: int, verdict, storage_error: str | None) -> None:
    """A worker with --db: its crawl_runs row gets the run's verdict (all workers' counters) instead of
    the one its own counters give. A storage error keeps its own verdict (exit 74)."""
    import sqlite3

    from pipelines.store import storage

    if verdict is None or storage_error:
        return
    db = storage.open_db(db_path)
    try:
        storage.finish_run(db, run_id, status=verdict.status, exit_status=verdict.exit_status,
                           message=verdict.message)
    except sqlite3.DatabaseError:
        pass  # report_run says what is wrong with the archive
    finally:
        db.close()


def process_queue(args: argparse.Namespace) -> int:
    """Drain the capture queue into the archive; exit 0 once it is empty and no worker runs."""
    import redis

    from pipelines.process.redis_queue import StorageStopped, drain
    from pipelines.scaleout.captures import CaptureConsumer
    from pipelines.scaleout.state import RedisUnavailable, SharedState, connect

    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    directory = Path(args.db).parent
    if not directory.is_dir():
        return fail(f"{args.db}: directory {directory} does not exist")
    try:
        client = connect(args.redis)
    except RedisUnavailable as exc:
        return fail(str(exc))
    opened = lock_and_open(args.db)
    if isinstance(opened, int):
        return opened
    lock, db = opened
    with lock:
        stopping = {"now": False}

        def stop(signum: int, frame: object) -> None:
            stopping["now"] = True

        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, stop)
        consumer = CaptureConsumer(client, f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}")
        try:
            counts = drain(db, SharedState(client), consumer, follow=args.follow, label=str(args.db),
                           should_stop=lambda: stopping["now"])
        except StorageStopped as exc:
            return fail(f"{args.db}: cannot write the archive ({storage_hint(exc)}); the item stays queued, "
                         "nothing archived is lost", EXIT_STORAGE)
        except redis.RedisError as exc:
            return fail(f"{args.redis}: lost the Redis server ({exc}); what was taken and not stored is put "
                         "back when this consumer's heartbeat expires: run again", EXIT_UNHEALTHY)
        finally:
            db.close()
        print(f"processed {counts['captures']} captures: {counts['articles_new']} new articles, "
              f"{counts['duplicates']} delivered twice (stored once), {counts['fetch_errors']} fetch errors, "
              f"{counts['archive_failed']} could not be archived, {counts['runs']} worker runs, "
              f"{counts['bad_items']} unreadable items (set aside in govbrief:captures:bad)")
        if args.lineage and counts["articles_new"]:
            from pipelines.store.storage import utc_now

            cluster_reposts(args.db, utc_now())
    return EXIT_OK


