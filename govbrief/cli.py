"""`govbrief`: the command line for cron (crawl), journalists (serve) and measurement (extract).

Exit statuses (see crawler/health.py): 0 healthy, 1 unhealthy run, 2 bad input (nothing crawled,
nothing written), 70 govbrief itself crashed (a bug: traceback in the log), 73 the log file cannot be
written, 74 the archive could not be written during the run (disk full, I/O error: what was archived
before is kept), 75 another crawl holds the lock (try again later), 141 the reader of the output went
away (`… | head`).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from crawler.health import (
    EXIT_BAD_INPUT,
    EXIT_CRASH,
    EXIT_LOCKED,
    EXIT_LOG,
    EXIT_NAMES,
    EXIT_OK,
    EXIT_STORAGE,
    EXIT_UNHEALTHY,
)
from crawler.sources import SourcesError, load_sources
from govbrief import runs
from govbrief.lock import LockHeld, RunLock
from govbrief.runs import (
    LineageMeanwhile,
    append_log,
    cluster_reposts,
    date_reposts,
    fail,
    lock_and_open,
    open_archive,
    report_run,
    run_scrapy,
    storage_hint,
)
from pipelines.publish import serve as publish  # light: stdlib + yaml; Datasette is imported when serving

REPO_ROOT = Path(__file__).resolve().parent.parent


def cmd_crawl(args: argparse.Namespace) -> int:
    """`govbrief crawl`: every outcome (crash, refusal, bad input, a finished run) ends as one summary
    line in the log file (when given) and an exit status of its own (see crawler/health.py)."""
    if args.log_file:
        try:  # cron's `--log-file logs/crawl.log` in a fresh checkout: create the folder
            Path(args.log_file).parent.mkdir(parents=True, exist_ok=True)
            with open(args.log_file, "a", encoding="utf-8"):
                pass
        except OSError as exc:
            return fail(f"{args.log_file}: cannot write the log file ({exc.strerror or exc})", EXIT_LOG)
    outcome: dict[str, str] = {}
    try:
        status = _crawl(args, outcome)
    except Exception as exc:  # a bug, not a verdict on the sites: its own exit status and the traceback kept
        trace = traceback.format_exc()
        if args.log_file:
            append_log(args.log_file, trace.rstrip())
        else:
            print(trace, file=sys.stderr, end="")
        where = f"; traceback in {args.log_file}" if args.log_file else ""
        outcome["message"] = f"crashed: {type(exc).__name__}: {exc}"[:300]
        status = fail(f"crawl {outcome['message']}{where}", EXIT_CRASH)
    if args.log_file:
        append_log(args.log_file, f"govbrief crawl finished: exit {status} ({EXIT_NAMES.get(status, 'unknown')}): "
                                   f"{outcome.get('message', '')}")
    return status


def _crawl(args: argparse.Namespace, outcome: dict[str, str]) -> int:
    def fail(message: str, status: int = EXIT_BAD_INPUT) -> int:  # also remembers it for the summary line
        outcome["message"] = message
        return runs.fail(message, status)

    try:
        sources = load_sources(args.sources)
    except SourcesError as exc:
        return fail(str(exc))
    if args.only:
        unknown = set(args.only.split(",")) - {s.id for s in sources}
        if unknown:
            return fail(f"{args.sources}: unknown source id(s): {', '.join(sorted(unknown))}")
    if args.redis:  # scale-out worker (govbrief/scale_out.py, docs/scale-out.md)
        from govbrief.scale_out import crawl_worker

        return crawl_worker(args, sorted(s.id for s in sources if not args.only or s.id in args.only.split(",")))
    args.db = args.db or "archive.db"
    directory = Path(args.db).parent
    if not directory.is_dir():  # checked before the lock file, whose error would name the wrong file
        return fail(f"{args.db}: directory {directory} does not exist")
    if Path(args.db).is_dir():
        return fail(f"{args.db}: is a directory, not an archive database")
    try:
        lock = RunLock.for_archive(args.db).acquire()
    except LockHeld as exc:
        return fail(str(exc), EXIT_LOCKED)
    except OSError as exc:
        return fail(f"{args.db}: cannot create the lock ({exc})")
    with lock, _prestarted_processing(args) as processing:
        try:
            db = open_archive(args.db, check=True)
        except ValueError as exc:
            return fail(str(exc))
        from pipelines.store import storage

        ids = sorted(s.id for s in sources if not args.only or s.id in args.only.split(","))
        try:
            # We hold the lock, so a run still marked 'running' was killed (kill -9, power loss, OOM).
            storage.close_interrupted_runs(db, "interrupted: the crawl process died before finishing")
            run_id = storage.start_run(db, ids)
        except sqlite3.DatabaseError as exc:
            db.close()
            return fail(f"{args.db}: cannot write the archive ({storage_hint(exc)})", EXIT_STORAGE)
        since = storage.utc_now()
        db.close()
        meanwhile = LineageMeanwhile(args.db) if args.lineage else None
        try:
            status, storage_error = run_scrapy(args, run_id, processing=processing, lineage=meanwhile)
        finally:
            if meanwhile is not None:
                meanwhile.stop()
        exit_status = report_run(args.db, run_id, status, storage_error, outcome)
        if meanwhile is not None and exit_status in (EXIT_OK, EXIT_UNHEALTHY):
            # most new articles were clustered while processing drained; this takes the rest
            cluster_reposts(args.db, since, recent=meanwhile.recent, drained=meanwhile.articles,
                            when=" after the crawl")
        return exit_status


@contextlib.contextmanager
def _prestarted_processing(args: argparse.Namespace) -> Iterator[Any]:
    """The processing process, started before the archive is opened and Scrapy loaded: its imports
    and worker pool take the idle core during the crawl's start-up (~1 s on a fresh archive). Not when
    the command line sets processing up itself (the crawl's ArchiveRun then starts its own)."""
    if any(pair.partition("=")[0] in ("GOVBRIEF_PROCESS", "GOVBRIEF_PROCESS_WORKERS") for pair in args.set or []):
        yield None
        return
    from pipelines.process.beside import Beside

    processing = Beside(args.db, workers=None)
    try:
        yield processing
    finally:
        processing.close()  # a crawl that never opened leaves it unused


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
    from pipelines.facts import with_facts
    from pipelines.facts.reposts import with_facts_of_copies

    if args.manifest:
        try:
            rows = list(_manifest_rows(Path(args.manifest)))
        except (OSError, ValueError) as exc:
            return fail(str(exc))
        # every page first: copies of one text among them date their year-less events by the earliest
        for result in with_facts_of_copies(list(extract.extract_manifest(rows))):
            print(json.dumps(result, ensure_ascii=False), flush=False)
        sys.stdout.flush()
        return EXIT_OK
    if not args.file:
        return fail("extract needs FILE (- for standard input) or --manifest M.jsonl")
    try:
        body = extract.read_page(args.file)
    except (OSError, ValueError) as exc:
        return fail(str(exc))
    url = args.url or ("file:///dev/stdin" if args.file == "-" else Path(args.file).resolve().as_uri())
    try:
        article = extract.extract_article(body, url, args.content_type)
    except extract.PageRefused as exc:
        print(json.dumps({"url": args.url, "error": f"{exc}: {args.file}"}, ensure_ascii=False))
        return EXIT_UNHEALTHY
    if article is None:
        print(json.dumps({"url": args.url, "error": "no article text found"}, ensure_ascii=False))
        return EXIT_UNHEALTHY
    print(json.dumps(with_facts(article.as_dict()), ensure_ascii=False, indent=1))
    return EXIT_OK


def _processing(args: argparse.Namespace, work) -> int:
    """Run `work(Processor)` on an existing archive, migrated, under the run lock."""
    from pipelines.process.runner import Processor

    if not Path(args.db).exists():
        return fail(f"{args.db}: archive database not found")
    opened = lock_and_open(args.db)
    if isinstance(opened, int):
        return opened
    lock, db = opened
    from pipelines.store import storage

    since = storage.utc_now()
    db.close()  # opened (and migrated) under the lock; the processor opens its own connections
    with lock:
        stats = work(Processor(args.db, workers=args.workers))
        if not stats.storage_error:
            db = storage.open_db(args.db)
            try:  # reprocessed copies were written with their own dates
                date_reposts(db, since)
            finally:
                db.close()
    if stats.storage_error:
        return fail(f"{storage_hint(Exception(stats.storage_error))}; processing stopped, everything "
                     "archived before is kept", EXIT_STORAGE)
    return EXIT_OK


def cmd_process(args: argparse.Namespace) -> int:
    """Process the captures that wait (a crawl run with GOVBRIEF_PROCESS=0, or one that was killed); with
    --redis, drain the capture queue of scale-out workers into the archive (govbrief/scale_out.py)."""
    if args.redis:
        from govbrief.scale_out import process_queue

        return process_queue(args)

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
        raise ValueError(f"{db_path}: cannot read this archive database ({storage_hint(exc)})") from None
    return db


def cmd_export_warc(args: argparse.Namespace) -> int:
    from pipelines.publish.warc import export_warc

    try:
        db = _read_only_archive(args.db)
    except ValueError as exc:
        return fail(str(exc))
    counts = export_warc(db, args.out, source_id=args.source)
    print(f"wrote {args.out}: {counts.get('responses', 0)} captures, {counts.get('records', 0)} WARC records")
    return EXIT_OK


def cmd_lineage(args: argparse.Namespace) -> int:
    """Writes the clusters: a writer, so it takes the lock and migrates like a crawl."""
    from pipelines.lineage.clusters import cluster_archive
    from pipelines.store import storage

    if not Path(args.db).exists():
        return fail(f"{args.db}: archive database not found")
    opened = lock_and_open(args.db)
    if isinstance(opened, int):
        return opened
    lock, db = opened
    with lock:
        since = storage.utc_now()
        stats = cluster_archive(db)
        date_reposts(db, since)
        db.close()
    print(f"{stats['articles']} articles: {stats['clusters']} repost clusters "
          f"({stats['clustered_articles']} articles, largest {stats['largest']}) in {stats['seconds']} s")
    return EXIT_OK


# ---------------------------------------------------------------- serve / demo


def cmd_migrate(args: argparse.Namespace) -> int:
    """Bring an archive of an older govbrief to the current schema (pipelines/store/migrations.py), as a
    writer under the run lock; `govbrief crawl`, `process` and `reextract` do the same when they start."""
    from pipelines.store import migrations

    if not Path(args.db).exists():
        return fail(f"{args.db}: archive database not found")
    before = _schema_version(args.db)
    opened = lock_and_open(args.db)
    if isinstance(opened, int):
        return opened
    lock, db = opened
    with lock:
        db.close()
    print(f"{args.db}: schema version {before} -> {migrations.SCHEMA_VERSION}"
          if before != migrations.SCHEMA_VERSION else f"{args.db}: schema is current ({before})")
    return EXIT_OK


def _schema_version(db_path: str, *, immutable: bool = False) -> int:
    from pipelines.store import migrations, storage

    db = storage.open_db(db_path, read_only=True, immutable=immutable)
    try:
        return migrations.schema_version(db)
    finally:
        db.close()


def cmd_serve(args: argparse.Namespace) -> int:
    """Datasette on the archive, in this process: SIGTERM/SIGINT stop it (see pipelines/publish/serve.py)."""
    serve = publish
    path = Path(args.db)
    if not path.is_file():
        return fail(f"{args.db}: archive database not found (run `govbrief crawl` or `govbrief demo` first)")
    immutable = args.immutable if args.immutable is not None else serve.read_only_place(path)
    try:  # serving only reads: an archive of an older govbrief is never migrated here (it may be read-only)
        version = _schema_version(args.db, immutable=immutable)
    except sqlite3.DatabaseError as exc:
        return fail(f"{args.db}: cannot serve this archive ({storage_hint(exc)})")
    from pipelines.store.migrations import SCHEMA_VERSION

    if version < SCHEMA_VERSION:
        return fail(f"{args.db}: archive schema version {version} is older than this govbrief's "
                     f"({SCHEMA_VERSION}); run `govbrief migrate --db {args.db}` once (or the next crawl does it)")
    if version > SCHEMA_VERSION:
        return fail(f"{args.db}: archive schema version {version} is newer than this govbrief's "
                     f"({SCHEMA_VERSION}); upgrade govbrief")
    try:
        settings = {key: serve.parse_setting(key, value) for key, value in args.setting or []}
        serve.metadata_path()
    except (ValueError, FileNotFoundError) as exc:
        return fail(str(exc))
    if immutable and (warning := serve.wal_warning(path)):
        print(f"govbrief: warning: {warning}", file=sys.stderr)
    mode = "trusted: custom SQL allowed" if args.allow_sql else "public: no custom SQL"
    print(f"serving {args.db} ({'immutable' if immutable else 'read-only, live'}; {mode}"
          f"{'; raw captures published' if args.show_captures else ''}) at http://{args.host}:{args.port}/ "
          "(Ctrl-C stops)", flush=True)
    try:
        serve.run(path, args.host, args.port, allow_sql=args.allow_sql, show_captures=args.show_captures,
                  immutable=immutable, settings=settings, memory_limit_mb=args.memory_limit_mb,
                  limits={"heavy_slots": args.heavy_slots} if args.heavy_slots else None)
    except sqlite3.DatabaseError as exc:
        return fail(f"{args.db}: cannot serve this archive ({storage_hint(exc)})")
    return EXIT_OK


def _sample_web():
    """start_sample_web from the checkout's sampleweb/ (next to govbrief/).

    The sample web (~1 MB of generated sites) is test and demo material, not part of the installed
    package: `make demo` runs from a checkout with an editable install, whose import finder maps only
    the runtime packages, so the checkout is put on sys.path here."""
    checkout = REPO_ROOT
    if (checkout / "sampleweb" / "__init__.py").is_file() and str(checkout) not in sys.path:
        sys.path.insert(0, str(checkout))
    try:
        from sampleweb import SITE_IDS, start_sample_web
    except ImportError:
        raise ImportError("the demo needs the sample web of a source checkout (sampleweb/ next to govbrief/); "
                          "run `make demo` in a clone of the repository") from None
    return start_sample_web, SITE_IDS


# The sample web's first port for `govbrief demo`: fixed, so a second demo run finds the same article
# URLs (http://127.0.0.1:18401/...) and updates the archive instead of adding a copy of everything.
DEMO_WEB_PORT = 18401


def cmd_demo(args: argparse.Namespace) -> int:
    """Serve the bundled sample web on 127.0.0.1, crawl it into the archive, then serve the archive."""
    try:
        start_sample_web, SITE_IDS = _sample_web()  # noqa: N806 (the module's constant)
    except ImportError as exc:
        return fail(str(exc))

    try:
        web_context = start_sample_web(base_port=args.web_port)
    except OSError as exc:
        last = args.web_port + len(SITE_IDS) - 1
        return fail(f"demo: cannot start the sample web on 127.0.0.1 ports {args.web_port}-{last} ({exc}); "
                     "free them or choose --web-port (the same one every run, or the archive gets a "
                     "second copy of every article)", EXIT_BAD_INPUT)
    with web_context as web, tempfile.TemporaryDirectory(prefix="govbrief-demo-") as tmp:
        sources = Path(tmp) / "sources.yml"
        web.write_sources(sources)
        print("sample web:", ", ".join(f"{k} {v}" for k, v in web.base_urls.items()), flush=True)
        crawl = [sys.executable, "-m", "govbrief", "crawl", "--sources", str(sources), "--db", args.db,
                 "--delay", "0", "--log-level", "WARNING"]
        status = subprocess.call(crawl)
        if status != EXIT_OK:
            return fail(f"demo crawl finished with exit status {status}", status)
        if args.no_serve:
            return EXIT_OK
        return cmd_serve(args)


def cmd_check_sources(args: argparse.Namespace) -> int:
    try:
        sources = load_sources(args.sources)
    except SourcesError as exc:
        return fail(str(exc))
    print(f"{args.sources}: {len(sources)} sources OK")
    return EXIT_OK


# ---------------------------------------------------------------- entry point


class _VersionAction(argparse.Action):
    """`govbrief --version`: the release and the archive schema it writes (what a bug report and an
    upgrade need: an archive of a higher schema is refused by this build). Worked out only when asked:
    the schema number comes from the migrations module, which imports sqlite-utils."""

    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS,
                         help="print the version and the archive schema version, then exit")

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        from pipelines.identity import release
        from pipelines.store.migrations import SCHEMA_VERSION  # where an archive this build writes ends

        print(f"govbrief {release() or 'unknown'} (archive schema {SCHEMA_VERSION})")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="govbrief", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action=_VersionAction)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("crawl", help="crawl the registered sources into the archive (for cron)")
    p.add_argument("--sources", default="sources.yml", help="sources registry (default: sources.yml)")
    p.add_argument("--db", help="archive database (default: archive.db; with --redis: none, captures go to Redis)")
    p.add_argument("--redis", metavar="URL", help="run as a scale-out worker sharing the crawl through Redis, "
                   "e.g. redis://host:6379/0 (docs/scale-out.md)")
    p.add_argument("--only", help="comma-separated source ids to crawl (default: all)")
    p.add_argument("--log-file", help="write the crawl log to this file instead of stderr")
    p.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    p.add_argument("--delay", type=float, help="seconds between requests to a site (default 1, adaptive)")
    p.add_argument("-s", "--set", action="append", metavar="NAME=VALUE", help="override a Scrapy setting")
    p.add_argument("--no-lineage", dest="lineage", action="store_false",
                   help="skip clustering the run's new articles (the next run or govbrief lineage does it)")
    p.set_defaults(func=cmd_crawl)

    p = sub.add_parser("extract", help="extract the article of a saved page, or of every page of a manifest")
    p.add_argument("file", nargs="?", help="a saved page, HTML or plain text (raw bytes); - reads standard input")
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
        if name == "process":  # scale-out (govbrief/scale_out.py): drain the workers' capture queue
            p.add_argument("--redis", metavar="URL",
                           help="the capture queue of `govbrief crawl --redis` workers, e.g. redis://host:6379/0")
            p.add_argument("--follow", action="store_true", help="with --redis: keep running when the queue is empty")
            p.add_argument("--no-lineage", dest="lineage", action="store_false",
                           help="with --redis: skip updating repost clusters when articles were added")
            p.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
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
        p.add_argument("--allow-sql", action="store_true",
                       help="trusted mode: custom read-only SQL for every visitor (newsroom-internal servers only)")
        p.add_argument("--show-captures", action="store_true",
                       help="publish raw capture bodies (captures.body, capture as text); default: WARC export only")
        p.add_argument("--immutable", action=argparse.BooleanOptionalAction, default=None,
                       help="open the archive immutable (default: when the file or its directory is read-only)")
        p.add_argument("--setting", nargs=2, action="append", metavar=("NAME", "VALUE"),
                       help="override a Datasette setting, e.g. --setting sql_time_limit_ms 500")
        p.add_argument("--heavy-slots", type=int, metavar="N",
                       help="expensive requests (search, facets, filters, SQL) run at once; the other SQL threads "
                            "stay free for cheap pages (default: num_sql_threads - 2)")
        p.add_argument("--memory-limit-mb", type=int, default=publish.MEMORY_LIMIT_MB, metavar="MB",
                       help="data memory of the server process (RLIMIT_DATA); a request needing more fails "
                            "with 503 (default %(default)s, 0: none)")
        if name == "demo":
            p.add_argument("--no-serve", action="store_true", help="stop after the crawl")
            p.add_argument("--web-port", type=int, default=DEMO_WEB_PORT,
                           help=f"first port of the sample web (its sites take consecutive ports; default "
                                f"{DEMO_WEB_PORT}). Keep it the same between runs: the article "
                                "URLs include it, so another port would archive every article again")
        p.set_defaults(func=func)

    p = sub.add_parser("migrate", help="bring an archive of an older govbrief to the current schema (takes the lock)")
    p.add_argument("--db", default="archive.db")
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("check-sources", help="validate a sources registry")
    p.add_argument("sources", nargs="?", default="sources.yml")
    p.set_defaults(func=cmd_check_sources)
    return parser


# A command whose reader stopped reading (`govbrief extract page.html | head`) ends quietly with the
# status a shell gives a program its reader left (128 + SIGPIPE), not with a traceback.
EXIT_READER_GONE = 141


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        status = args.func(args)
        sys.stdout.flush()
    except BrokenPipeError:
        # stdout's buffer cannot be flushed at exit either: point it at /dev/null so nothing is printed
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_READER_GONE
    if argv is None:  # the program itself (console script, python -m govbrief), about to exit
        # Every connection and file is closed by now; the interpreter's last collections would still
        # walk every object Scrapy, Twisted and the lineage step made (~0.1 s of each crawl's tail,
        # measured). Frozen, they are left to the OS; atexit handlers (logging) run as before.
        gc.freeze()
    return status


if __name__ == "__main__":
    sys.exit(main())
