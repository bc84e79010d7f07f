"""`govbrief`: the command line for cron (crawl), journalists (serve) and measurement (extract).

Exit statuses (see crawler/health.py): 0 healthy, 1 unhealthy run, 2 bad input (nothing crawled,
nothing written), 74 the archive could not be written during the run (disk full, I/O error: what
was archived before is kept), 75 another crawl holds the lock (try again later).
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from crawler.health import EXIT_BAD_INPUT, EXIT_LOCKED, EXIT_OK, EXIT_STORAGE, EXIT_UNHEALTHY
from crawler.sources import SourcesError, load_sources
from govbrief.lock import LockHeld, RunLock

REPO_ROOT = Path(__file__).resolve().parent.parent


def _fail(message: str, status: int = EXIT_BAD_INPUT) -> int:
    print(f"govbrief: {message}", file=sys.stderr)
    return status


def _storage_hint(exc: BaseException) -> str:
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


def _open_archive(db_path: str, *, check: bool = False):
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
        storage.ensure_schema(db)
    except migrations.ArchiveTooNew as exc:
        raise ValueError(str(exc)) from None
    except sqlite3.DatabaseError as exc:
        if db is not None:
            db.close()
        raise ValueError(f"{path}: cannot use this archive database ({_storage_hint(exc)})") from None
    return db


# ---------------------------------------------------------------- crawl


def cmd_crawl(args: argparse.Namespace) -> int:
    try:
        sources = load_sources(args.sources)
    except SourcesError as exc:
        return _fail(str(exc))
    if args.only:
        unknown = set(args.only.split(",")) - {s.id for s in sources}
        if unknown:
            return _fail(f"{args.sources}: unknown source id(s): {', '.join(sorted(unknown))}")
    directory = Path(args.db).parent
    if not directory.is_dir():  # checked before the lock file, whose error would name the wrong file
        return _fail(f"{args.db}: directory {directory} does not exist")
    try:
        lock = RunLock(args.db + ".lock").acquire()
    except LockHeld as exc:
        return _fail(str(exc), EXIT_LOCKED)
    except OSError as exc:
        return _fail(f"{args.db}.lock: cannot create the lock file ({exc})")
    with lock:
        try:
            db = _open_archive(args.db, check=True)
        except ValueError as exc:
            return _fail(str(exc))
        from pipelines.store import storage

        ids = sorted(s.id for s in sources if not args.only or s.id in args.only.split(","))
        try:
            # We hold the lock, so a run still marked 'running' was killed (kill -9, power loss, OOM).
            storage.close_interrupted_runs(db, "interrupted: the crawl process died before finishing")
            run_id = storage.start_run(db, ids)
        except sqlite3.DatabaseError as exc:
            db.close()
            return _fail(f"{args.db}: cannot write the archive ({_storage_hint(exc)})", EXIT_STORAGE)
        db.close()
        status, storage_error = _run_scrapy(args, run_id)
        exit_status = _report_run(args.db, run_id, status, storage_error)
        if args.lineage and exit_status in (EXIT_OK, EXIT_UNHEALTHY):
            _update_lineage(args.db)
        return exit_status


def _update_lineage(db_path: str) -> None:
    """Cluster the run's new (and changed) articles against the persisted lineage state, so "also
    published at" is current; memory is bounded by a batch, not by the archive.

    Still under the run lock; a failure here is reported but never changes the crawl's verdict.
    """
    from pipelines.lineage.incremental import update_lineage
    from pipelines.store import storage

    db = storage.open_db(db_path)
    try:
        stats = update_lineage(db)
        if stats["articles"]:
            print(f"repost clusters: {stats['clusters']} ({stats['clustered_articles']} articles) "
                  f"in {stats['seconds']} s")
    except Exception as exc:  # lineage is derived data: the next run recomputes it
        print(f"govbrief: repost clustering failed ({exc!r}); the next run retries", file=sys.stderr)
    finally:
        db.close()


def _report_run(db_path: str, run_id: int, status: int, storage_error: str | None) -> int:
    """Print the run's verdict for the cron mail and return the exit status (see crawler/health.py)."""
    from pipelines.store import storage

    db = storage.open_db(db_path)
    try:
        row = db["crawl_runs"].get(run_id)
        if row["exit_status"] is None:  # the spider never got to close: count it as failed
            storage.finish_run(db, run_id, status="failed" if not storage_error else "storage_error",
                               exit_status=EXIT_STORAGE if storage_error else EXIT_UNHEALTHY,
                               message=storage_error or f"crawl process ended without finishing (status {status})")
            row = db["crawl_runs"].get(run_id)
    except sqlite3.DatabaseError as exc:  # e.g. the disk is still full: say so, never a traceback
        db.close()
        return _fail(f"run {run_id}: {storage_error or 'crawl failed'}; the run could not be recorded "
                     f"({_storage_hint(exc)}); everything archived before is kept", EXIT_STORAGE)
    db.close()
    print(f"run {run_id}: {row['status']}: {row['message']} "
          f"(pages {row['pages_fetched']}, new articles {row['articles_new']}, errors {row['errors']})")
    if storage_error:
        return _fail(f"{_storage_hint(Exception(storage_error))}; the crawl was stopped, everything archived "
                     "before is kept", EXIT_STORAGE)
    return int(row["exit_status"])


def _run_scrapy(args: argparse.Namespace, run_id: int) -> tuple[int, str | None]:
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "crawler.settings")
    from scrapy.crawler import CrawlerProcess
    from scrapy.utils.project import get_project_settings

    settings = get_project_settings()
    settings.set("GOVBRIEF_DB", args.db, priority="cmdline")
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
    process = CrawlerProcess(settings)
    crawler = process.create_crawler("govbrief")
    process.crawl(crawler, only=args.only)
    process.start()
    from crawler.run import ArchiveRun

    run = ArchiveRun.of(crawler)
    status = 0 if run.verdict else EXIT_UNHEALTHY
    return status, run.storage_error


# ---------------------------------------------------------------- extract / reextract


def _manifest_rows(path: Path) -> Iterator[dict]:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{number}: not a JSON object ({exc.msg})") from None
        if not isinstance(row, dict) or "page" not in row:
            raise ValueError(f"{path}:{number}: expected an object with 'id', 'page', 'url'")
        page = Path(row["page"])
        row["page"] = str(page if page.is_absolute() else (path.parent / page).resolve())
        yield row


def cmd_extract(args: argparse.Namespace) -> int:
    from pipelines.extract import article as extract

    if args.manifest:
        try:
            rows = list(_manifest_rows(Path(args.manifest)))
        except (OSError, ValueError) as exc:
            return _fail(str(exc))
        for result in extract.extract_manifest(rows):
            print(json.dumps(result, ensure_ascii=False), flush=False)
        sys.stdout.flush()
        return EXIT_OK
    if not args.file:
        return _fail("extract needs FILE or --manifest M.jsonl")
    try:
        body = Path(args.file).read_bytes()
    except OSError as exc:
        return _fail(f"{args.file}: {exc.strerror}")
    article = extract.extract_article(body, args.url or Path(args.file).resolve().as_uri(), args.content_type)
    if article is None:
        print(json.dumps({"url": args.url, "error": "no article text found"}, ensure_ascii=False))
        return EXIT_UNHEALTHY
    print(json.dumps(article.as_dict(), ensure_ascii=False, indent=1))
    return EXIT_OK


def _processing(args: argparse.Namespace, work) -> int:
    """Run `work(Processor)` on an existing archive, migrated, under the run lock."""
    from pipelines.process.runner import Processor

    if not Path(args.db).exists():
        return _fail(f"{args.db}: archive database not found")
    try:
        lock = RunLock(args.db + ".lock").acquire()
    except LockHeld as exc:
        return _fail(str(exc), EXIT_LOCKED)
    with lock:
        try:
            _open_archive(args.db, check=True).close()
        except ValueError as exc:
            return _fail(str(exc))
        stats = work(Processor(args.db, workers=args.workers))
    if stats.storage_error:
        return _fail(f"{_storage_hint(Exception(stats.storage_error))}; processing stopped, everything "
                     "archived before is kept", EXIT_STORAGE)
    return EXIT_OK


def cmd_process(args: argparse.Namespace) -> int:
    """Process the captures that wait (a crawl run with GOVBRIEF_PROCESS=0, or one that was killed)."""

    def work(processor):
        stats = processor.run()
        print(f"processed {stats.captures} captures: {stats.total('articles_new')} new articles, "
              f"{stats.total('articles_updated')} updated, {stats.total('articles_empty')} without text, "
              f"{stats.total('processing_errors')} failed")
        return stats

    return _processing(args, work)


def cmd_reextract(args: argparse.Namespace) -> int:
    def work(processor):
        stats = processor.reextract()
        print(f"re-extracted {stats.captures} articles from stored captures: {stats.changed} changed, "
              f"{stats.total('articles_empty')} without text")
        return stats

    return _processing(args, work)


# ---------------------------------------------------------------- provenance


def _read_only_archive(db_path: str):
    """Open an archive for reading only: never migrated, never written (no lock needed)."""
    from pipelines.store import migrations, storage

    if not Path(db_path).exists():
        raise ValueError(f"{db_path}: archive database not found")
    try:
        db = storage.open_db(db_path, read_only=True)
        migrations.check_version(db, db_path)
    except migrations.ArchiveTooNew as exc:
        raise ValueError(str(exc)) from None
    except sqlite3.DatabaseError as exc:
        raise ValueError(f"{db_path}: cannot read this archive database ({_storage_hint(exc)})") from None
    return db


def cmd_export_warc(args: argparse.Namespace) -> int:
    from pipelines.publish.warc import export_warc

    try:
        db = _read_only_archive(args.db)
    except ValueError as exc:
        return _fail(str(exc))
    counts = export_warc(db, args.out, source_id=args.source)
    print(f"wrote {args.out}: {counts.get('responses', 0)} captures, {counts.get('records', 0)} WARC records")
    return EXIT_OK


def cmd_lineage(args: argparse.Namespace) -> int:
    """Writes the clusters: a writer, so it takes the lock and migrates like a crawl."""
    from pipelines.lineage.clusters import cluster_archive

    if not Path(args.db).exists():
        return _fail(f"{args.db}: archive database not found")
    try:
        lock = RunLock(args.db + ".lock").acquire()
    except LockHeld as exc:
        return _fail(str(exc), EXIT_LOCKED)
    with lock:
        try:
            db = _open_archive(args.db)
        except ValueError as exc:
            return _fail(str(exc))
        stats = cluster_archive(db)
        db.close()
    print(f"{stats['articles']} articles: {stats['clusters']} repost clusters "
          f"({stats['clustered_articles']} articles, largest {stats['largest']}) in {stats['seconds']} s")
    return EXIT_OK


# ---------------------------------------------------------------- serve / demo


def cmd_serve(args: argparse.Namespace) -> int:
    from pipelines.publish.serve import serve_command

    if not Path(args.db).exists():
        return _fail(f"{args.db}: archive database not found (run `govbrief crawl` or `govbrief demo` first)")
    argv = serve_command(args.db, args.host, args.port)
    print(f"serving {args.db} at http://{args.host}:{args.port}/ (Ctrl-C stops)", flush=True)
    try:
        return subprocess.call(argv)
    except KeyboardInterrupt:
        return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    """Serve the bundled sample web on 127.0.0.1, crawl it into the archive, then serve the archive."""
    from govbrief.sampleweb import start_sample_web

    with start_sample_web() as web, tempfile.TemporaryDirectory(prefix="govbrief-demo-") as tmp:
        sources = Path(tmp) / "sources.yml"
        web.write_sources(sources)
        print("sample web:", ", ".join(f"{k} {v}" for k, v in web.base_urls.items()), flush=True)
        crawl = [sys.executable, "-m", "govbrief", "crawl", "--sources", str(sources), "--db", args.db,
                 "--delay", "0", "--log-level", "WARNING"]
        status = subprocess.call(crawl)
        if status != EXIT_OK:
            return _fail(f"demo crawl finished with exit status {status}", status)
        if args.no_serve:
            return EXIT_OK
        args.host, args.port = args.host, args.port
        return cmd_serve(args)


def cmd_check_sources(args: argparse.Namespace) -> int:
    try:
        sources = load_sources(args.sources)
    except SourcesError as exc:
        return _fail(str(exc))
    print(f"{args.sources}: {len(sources)} sources OK")
    return EXIT_OK


# ---------------------------------------------------------------- entry point


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="govbrief", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("crawl", help="crawl the registered sources into the archive (for cron)")
    p.add_argument("--sources", default="sources.yml", help="sources registry (default: sources.yml)")
    p.add_argument("--db", default="archive.db", help="archive database (default: archive.db)")
    p.add_argument("--only", help="comma-separated source ids to crawl (default: all)")
    p.add_argument("--log-file", help="write the crawl log to this file instead of stderr")
    p.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    p.add_argument("--delay", type=float, help="seconds between requests to a site (default 1, adaptive)")
    p.add_argument("-s", "--set", action="append", metavar="NAME=VALUE", help="override a Scrapy setting")
    p.add_argument("--no-lineage", dest="lineage", action="store_false",
                   help="skip clustering the run's new articles (the next run or govbrief lineage does it)")
    p.set_defaults(func=cmd_crawl)

    p = sub.add_parser("extract", help="extract the article of a saved page, or of every page of a manifest")
    p.add_argument("file", nargs="?", help="a saved HTML page (raw bytes)")
    p.add_argument("--url", help="the page's URL (dates and hosts are read from it)")
    p.add_argument("--content-type", help="the HTTP Content-Type header the page was served with")
    p.add_argument("--manifest", help="JSONL lines {id, page, url, content_type}: print one JSON line each")
    p.set_defaults(func=cmd_extract)

    for name, func, text in (
            ("process", cmd_process, "extract the articles of captures not processed yet (no network)"),
            ("reextract", cmd_reextract, "rebuild every article from the stored captures (no network)")):
        p = sub.add_parser(name, help=text)
        p.add_argument("--db", default="archive.db")
        p.add_argument("--workers", type=int, help="worker processes (default: one per CPU; 0: in this process)")
        p.set_defaults(func=func)

    p = sub.add_parser("export-warc", help="write the stored captures as a WARC file (evidence for replay tools)")
    p.add_argument("--db", default="archive.db")
    p.add_argument("--out", required=True, help="output file, e.g. captures.warc.gz")
    p.add_argument("--source", help="only this source id")
    p.set_defaults(func=cmd_export_warc)

    p = sub.add_parser("lineage", help="cluster reposts: which articles are copies of which original")
    p.add_argument("--db", default="archive.db")
    p.set_defaults(func=cmd_lineage)

    for name, func, text in (("serve", cmd_serve, "serve the archive with Datasette"),
                             ("demo", cmd_demo, "crawl the bundled sample web, then serve the archive")):
        p = sub.add_parser(name, help=text)
        p.add_argument("--db", default="archive.db")
        p.add_argument("--host", default="127.0.0.1")
        p.add_argument("--port", type=int, default=8001)
        if name == "demo":
            p.add_argument("--no-serve", action="store_true", help="stop after the crawl")
        p.set_defaults(func=func)

    p = sub.add_parser("check-sources", help="validate a sources registry")
    p.add_argument("sources", nargs="?", default="sources.yml")
    p.set_defaults(func=cmd_check_sources)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
