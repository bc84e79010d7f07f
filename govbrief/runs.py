"""What every archive-writing command shares: open the archive under the run lock, run the spider in
this process, report a run's outcome as an exit status, and say why the archive could not be written.

Used by govbrief/cli.py (crawl, process, migrate, lineage …) and govbrief/scale_out.py (the --redis
worker and drain): here, so that neither imports the other's helpers.
"""

from __future__ import annotations

import argparse
import logging
import os
import sqlite3
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from crawler.health import EXIT_BAD_INPUT, EXIT_CRASH, EXIT_LOCKED, EXIT_STORAGE
from govbrief.lock import LockHeld, RunLock


def fail(message: str, status: int = EXIT_BAD_INPUT) -> int:
    print(f"govbrief: {message}", file=sys.stderr)
    return status


def storage_hint(exc: BaseException) -> str:
    """The SQLite message plus what it means for whoever reads the cron mail."""
    text = str(exc)
    lowered = text.lower()
    if "readonly" in lowered or "read-only" in lowered:
        return f"{text}: the file or its directory is not writable by this user"
    if "disk is full" in lowered or "disk i/o" in lowered:
        return f"{text}: the disk is full or failing; free space and run again (nothing archived is lost)"
    if "not a database" in lowered or "malformed" in lowered or "corrupt" in lowered:
        return (f"{text}: the file is corrupt or not a govbrief archive; restore a backup or recover it with "
                "`sqlite3 archive.db .recover | sqlite3 recovered.db`")
    if "unable to open" in lowered:
        return f"{text}: cannot open or create the file (directory permissions?)"
    return text


def open_archive(db_path: str, *, check: bool = False):
    """Open and migrate the archive, or raise ValueError with a message naming the file.

    check=True also runs a quick integrity check of the file and its full-text indexes first, so a
    corrupt archive stops a run before anything is fetched or written (cost: one read of the file)."""
    from pipelines.store import migrations, storage

    path = Path(db_path)
    if path.exists() and path.is_dir():
        raise ValueError(f"{path}: is a directory, not an archive database")
    if not path.parent.exists():
        raise ValueError(f"{path}: directory {path.parent} does not exist")
    db = None
    try:
        if path.exists():  # a newer archive is refused before anything (even WAL mode) is written to it
            reader = storage.open_db(path, read_only=True)
            try:
                migrations.check_version(reader, str(path))
            finally:
                reader.close()
        db = storage.open_db(path)
        db.execute("select count(*) from sqlite_master").fetchone()
        if check:
            problems = storage.integrity_problems(db)
            if problems:
                db.close()
                raise ValueError(f"{path}: the archive is corrupt ({'; '.join(problems[:5])}); restore a backup "
                                 f"or recover it with `sqlite3 {path} .recover | sqlite3 recovered.db`")
        migrations.ensure_schema(db)
    except migrations.ArchiveTooNew as exc:
        raise ValueError(str(exc)) from None
    except sqlite3.DatabaseError as exc:
        if db is not None:
            db.close()
        raise ValueError(f"{path}: cannot use this archive database ({storage_hint(exc)})") from None
    return db


def lock_and_open(db_path: str):
    """(run lock, archive) for a command that writes the archive, or its exit status after saying why not."""
    try:
        lock = RunLock.for_archive(db_path).acquire()
    except LockHeld as exc:
        return fail(str(exc), EXIT_LOCKED)
    try:
        return lock, open_archive(db_path, check=True)
    except ValueError as exc:
        lock.release()
        return fail(str(exc))


# ---------------------------------------------------------------- crawl


def report_run(db_path: str, run_id: int, status: int, storage_error: str | None,
                outcome: dict[str, str] | None = None) -> int:
    """Print the run's verdict for the cron mail and return the exit status (see crawler/health.py)."""
    outcome = outcome if outcome is not None else {}
    from pipelines.store import storage

    db = storage.open_db(db_path)
    try:
        row = db["crawl_runs"].get(run_id)
        if row["exit_status"] is None:  # the spider never got to close: govbrief (or Scrapy) crashed
            storage.finish_run(db, run_id, status="crashed" if not storage_error else "storage_error",
                               exit_status=EXIT_STORAGE if storage_error else EXIT_CRASH,
                               message=storage_error or "crawl crashed before finishing (traceback in the log)")
            row = db["crawl_runs"].get(run_id)
    except sqlite3.DatabaseError as exc:  # e.g. the disk is still full: say so, never a traceback
        db.close()
        outcome["message"] = (f"run {run_id}: {storage_error or 'crawl failed'}; the run could not be recorded "
                              f"({storage_hint(exc)}); everything archived before is kept")
        return fail(outcome["message"], EXIT_STORAGE)
    db.close()
    outcome["message"] = (
        f"run {run_id}: {row['status']}: {row['message']} (pages {row['pages_fetched']}, "
        f"new articles {row['articles_new']}, new failures {row['new_failures'] or 0}, known-dead retries failed "
        f"{row['known_dead_failures'] or 0}, refused {row['refused'] or 0}, no article {row['no_article'] or 0}, "
        f"skipped {row['skipped'] or 0})")
    print(outcome["message"])
    if row["exit_status"] == EXIT_CRASH:
        return fail(f"crawl crashed before finishing (run {run_id}); the traceback is in the log", EXIT_CRASH)
    if storage_error:
        outcome["message"] += f"; {storage_error}"
        return fail(f"{storage_hint(Exception(storage_error))}; the crawl was stopped, everything archived "
                     "before is kept", EXIT_STORAGE)
    return int(row["exit_status"])


class LineageMeanwhile:
    """Repost clustering while processing drains, so that little of it is left for after the crawl.

    When fetching ends, the crawl process has nothing to do but wait for its processing process to
    write the last articles (seconds at 2,000 articles, half the run at 20,000), and lineage ran after
    that on one core, the other idle: 9 % of a 2,000-article crawl's wall-clock, 12 % of a 20,000-article
    one. From the spider's close (`start`, a Scrapy spider_closed handler) a thread of this process
    clusters what processing has written, in update_lineage's own steps (incremental.lineage_step: the
    clusters are those of the whole computation, whatever the steps), what has been written since the
    last step (at least MIN_STEP, at most STEP articles). `stop()` (after the crawl) ends it between
    steps; `govbrief crawl` then runs update_lineage for what is left, with the articles the steps kept
    (`recent`), and dates the reposts.

    A step holds the archive's write lock (~1 s for 2,000 articles at 50,000): processing's writer waits
    meanwhile, its workers go on with the captures they hold (IN_FLIGHT_PER_WORKER). Small steps were too
    dear before a step stopped re-reading every member of the clusters it touched and every partner it
    compared (docs/lineage.md); steps of at most 500 still cost more than taking what has accumulated
    (20,000 articles: 83.0 s against 76.8; 50,000: 213.2 against 201.3). Why not from the crawl's start:
    the reactor, in this process, bounds the fetch rate while fetching lasts. Any failure only leaves
    more for update_lineage (derived data)."""

    STEP: int | None = None  # articles per step at most; None: update_lineage's batch (memory bounded by it)
    MIN_STEP = 250  # articles: a step for fewer costs its fixed part (and a commit) for little
    POLL_SECONDS = 0.1

    def __init__(self, db_path: str) -> None:
        self.db_path = db_path
        self.articles = 0
        self.recent: Any = None  # incremental.RecentArticles, made by the thread (numpy loads there)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, **_: Any) -> None:
        logging.getLogger("govbrief").debug("clustering reposts while processing drains")
        self._thread = threading.Thread(target=self._run, name="lineage-meanwhile", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        import pipelines.facts.reposts  # noqa: F401  (dating the reposts, after the crawl)
        from pipelines.lineage.incremental import (
            BATCH,
            RecentArticles,
            articles_not_indexed,
            ensure_incremental_schema,
            lineage_step,
            preload_libraries,
        )
        from pipelines.store import storage

        self.recent = RecentArticles()
        try:
            preload_libraries()
            db = storage.open_db(self.db_path, batches=True)
            try:
                with db.conn:
                    ensure_incremental_schema(db)
                while not self._stop.is_set():
                    if articles_not_indexed(db) < self.MIN_STEP:
                        self._stop.wait(self.POLL_SECONDS)
                        continue
                    self.articles += lineage_step(db, self.STEP or BATCH, self.recent)
            finally:
                db.close()
        except Exception as exc:  # noqa: BLE001  the crawl's update_lineage does it all instead
            logging.getLogger("govbrief").warning("repost clustering while processing drained stopped (%r); "
                                                  "it is done after the crawl", exc)


def run_scrapy(args: argparse.Namespace, run_id: int | None, configure=None,
                report: dict | None = None, processing: Any = None,
                lineage: LineageMeanwhile | None = None) -> tuple[int, str | None]:
    """Run the spider in this process. configure(settings) adjusts the settings (scale-out workers);
    report, if given, receives the spider; processing: a processing process started already
    (pipelines/process/beside.py), handed to the crawl's ArchiveRun; lineage: started when the
    spider closes (the caller stops it)."""
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "crawler.settings")
    from scrapy.crawler import CrawlerProcess
    from scrapy.utils.project import get_project_settings

    settings = get_project_settings()
    settings.set("GOVBRIEF_DB", args.db or "", priority="cmdline")
    settings.set("GOVBRIEF_SOURCES", args.sources, priority="cmdline")
    settings.set("GOVBRIEF_RUN_ID", run_id, priority="cmdline")
    if args.log_file:
        settings.set("LOG_FILE", args.log_file, priority="cmdline")
    settings.set("LOG_LEVEL", args.log_level, priority="cmdline")
    if args.delay is not None:
        settings.set("DOWNLOAD_DELAY", args.delay, priority="cmdline")
        if args.delay == 0:  # local sites (tests, demo): no throttling at all
            settings.set("AUTOTHROTTLE_ENABLED", False, priority="cmdline")
            settings.set("DOWNLOAD_DELAY_JITTER", 0, priority="cmdline")
            settings.set("CONCURRENT_REQUESTS_PER_DOMAIN", 8, priority="cmdline")
    for pair in args.set or []:
        key, _, value = pair.partition("=")
        settings.set(key, value, priority="cmdline")
    from crawler.logs import quiet_scrapy_logging

    if configure is not None:
        configure(settings)
    process = CrawlerProcess(settings)
    quiet_scrapy_logging(getattr(logging, args.log_level))  # after Scrapy's dictConfig, which resets levels
    crawler = process.create_crawler("govbrief")
    if lineage is not None:
        from scrapy import signals

        # connected before the crawl's ArchiveRun (built when the crawl starts), whose spider_closed
        # handler waits for processing to drain: this one runs first, and clusters during that wait
        crawler.signals.connect(lineage.start, signal=signals.spider_closed)
    crawler.prestarted_processing = processing  # read by crawler.run.ArchiveRun when Scrapy builds it
    crashes: list = []
    process.crawl(crawler, only=args.only).addErrback(crashes.append)  # else Twisted prints it at exit
    process.start()
    for failure in crashes:  # the traceback goes to the log (the cron mail gets one line)
        if args.log_file:
            append_log(args.log_file, "crawl crashed:\n" + failure.getTraceback().rstrip())
        else:
            print(failure.getTraceback(), file=sys.stderr, end="")
    spider = crawler.spider
    # no verdict: the crawl never got to close (an exception inside Scrapy or govbrief)
    if report is not None:
        report["spider"] = spider
    status = 0 if getattr(spider, "verdict", None) else EXIT_CRASH
    return status, getattr(spider, "storage_error", None)


# ---------------------------------------------------------------- extract / reextract


def repost_summary(stats: dict, when: str = "", drained: int = 0) -> str:
    """The line a command prints after clustering (update_lineage's stats); drained: the articles
    clustered while processing drained (LineageMeanwhile)."""
    also = f" ({drained} more while processing drained)" if drained else ""
    return (f"repost clusters: {stats['clusters']} ({stats['clustered_articles']} articles); "
            f"{stats['articles']} new articles clustered in {stats['seconds']} s{when}{also}")


def cluster_reposts(db_path: str, since: str, *, recent: Any = None, drained: int = 0, when: str = "") -> None:
    """Cluster the new (and changed) articles against the persisted lineage state (update_lineage: memory
    bounded by a batch, not by the archive), say so, then date the year-less events of the copies in the
    clusters touched since `since` (date_reposts). `govbrief crawl` after a run (recent, drained: what
    LineageMeanwhile kept and clustered) and `govbrief process --redis` after each drain call it, still
    under the run lock. A failure is reported, never raised: lineage is derived data, the next run
    recomputes it."""
    from pipelines.lineage.incremental import update_lineage
    from pipelines.store import storage

    db = storage.open_db(db_path, batches=True)
    try:
        stats = update_lineage(db, recent=recent)
        if stats["articles"] or drained:
            print(repost_summary(stats, when, drained=drained))
        date_reposts(db, since)
    except Exception as exc:  # derived data: the next run recomputes it
        print(f"govbrief: repost clustering failed ({exc!r}); the next run retries", file=sys.stderr)
    finally:
        db.close()


def date_reposts(db, since: str) -> None:
    """After lineage or reprocessing: the copies in the clusters touched since `since` date their
    year-less events by the earliest copy (pipelines/facts/reposts.py); says how many it re-dated."""
    from pipelines.facts.reposts import date_reposts as redate

    stats = redate(db, since)
    if stats["redated"]:
        print(f"reposts dated by their original: {stats['redated']} articles in {stats['clusters']} clusters")


def append_log(path: str, line: str) -> None:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
    try:
        with open(path, "a", encoding="utf-8") as log:
            log.write(f"{stamp} [govbrief] {line}\n")
    except OSError as exc:  # the disk may be full: the exit status still says what happened
        print(f"govbrief: {path}: cannot write the summary line ({exc.strerror or exc})", file=sys.stderr)
