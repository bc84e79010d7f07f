"""Datasette plugin `govbrief-limits`: what one anonymous visitor can cost the public server.

Registered as its own entry point (pyproject: ``[project.entry-points.datasette] govbrief_limits``),
kept apart from the search/article plugin. Configured by ``plugins: govbrief-limits:`` in the
metadata that ``pipelines.publish.serve`` builds; every key has the safe default below.

* ``prepare_connection``: SQLite limits on every connection. Datasette's time limit is a progress
  handler that SQLite calls between virtual-machine steps, so a single step that builds a huge
  value (``printf('%.*c', 999999999, 'x')``, ``randomblob``, ``zeroblob``, ``hex``,
  ``group_concat``, ``replace``) runs to completion however long it takes and allocates gigabytes.
  ``SQLITE_LIMIT_LENGTH`` makes such a step fail at once with "string or blob too big"; the
  process-wide ``hard_heap_limit`` caps what SQLite itself may allocate (sorters, caches), so a
  query gets "out of memory" instead of the server getting killed.
* An authorizer reads ``captures.body`` as NULL unless the operator publishes raw captures
  (``show_captures``): no raw body through SQL, row pages, JSON or ``.blob`` links.
* ``asgi_wrapper``: (0) in public mode anything but GET/HEAD answers 405; (1) requests that may
  run a query for the full time limit (canned queries,
  search, filters, facets, sorting, custom SQL, CSV) pass a gate of ``heavy_slots`` concurrent
  requests, fewer than Datasette's ``num_sql_threads``, so cheap pages (a row page, a small table,
  the index) always find a free SQL thread; heavy requests beyond the gate wait in a bounded queue
  and get 503 + Retry-After when it is full or after ``heavy_wait_s``. (2) In public mode
  ``/-/databases`` (server file paths) and ``/-/threads`` answer 404, and the capture-as-text
  route answers 403 unless ``show_captures``.
"""

from __future__ import annotations

import asyncio
import html
import json
import re
import sqlite3
from collections.abc import Iterator
from typing import Any

from datasette import hookimpl

PLUGIN = "govbrief-limits"

# Largest string or blob any SQL step may build or read. Above every value govbrief stores: an
# article's text is at most a few hundred KB, and captures.body (gzip of at most DOWNLOAD_MAXSIZE =
# 10 MB) is hidden from the public; an operator publishing captures of huge pages raises it. The
# rows of one response (max_returned_rows = 1000) cannot exceed 1000 x this.
MAX_VALUE_BYTES = 4 * 1024 * 1024
# Everything SQLite allocates in the server process (page caches, sorters, temporary b-trees).
SQLITE_HEAP_BYTES = 256 * 1024 * 1024
# Datasette runs SQL in num_sql_threads threads (serve.SETTINGS); this many are kept free of heavy
# requests for cheap pages. By default heavy_slots = num_sql_threads - CHEAP_THREADS (at least 1):
# requests that may run a query for the whole sql_time_limit_ms at the same time. With the default
# 4 threads that is 2 heavy requests, which already keep both cores of a small server busy.
CHEAP_THREADS = 2
HEAVY_QUEUE = 64  # heavy requests allowed to wait for a slot; more get 503 at once
HEAVY_WAIT_S = 15.0  # a heavy request waiting longer than this gets 503

DEFAULTS: dict[str, Any] = {
    "public": True,  # anonymous public server: no path-revealing introspection pages
    "show_captures": False,  # raw capture bodies (captures.body, capture-as-text) published
    "max_value_bytes": MAX_VALUE_BYTES,
    "sqlite_heap_bytes": SQLITE_HEAP_BYTES,
    "heavy_slots": None,  # None: num_sql_threads - CHEAP_THREADS
    "heavy_queue": HEAVY_QUEUE,
    "heavy_wait_s": HEAVY_WAIT_S,
}

# sqlite3 limit -> value; the limits not tied to a config key are far above anything govbrief's
# canned queries or Datasette's own table pages need.
_FIXED_LIMITS = {
    sqlite3.SQLITE_LIMIT_SQL_LENGTH: 100_000,  # one statement's text
    sqlite3.SQLITE_LIMIT_EXPR_DEPTH: 200,
    sqlite3.SQLITE_LIMIT_COMPOUND_SELECT: 50,
    sqlite3.SQLITE_LIMIT_LIKE_PATTERN_LENGTH: 1_000,
    sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER: 1_000,
    sqlite3.SQLITE_LIMIT_ATTACHED: 0,  # Datasette refuses ATTACH anyway; nothing to attach to
}

# Columns read as NULL unless show_captures: (table, column).
RAW_CAPTURE_COLUMNS = frozenset({("captures", "body")})


def config(datasette: Any) -> dict[str, Any]:
    return {**DEFAULTS, **(datasette.plugin_config(PLUGIN) or {})}


# One printf conversion: flags, width, precision, length modifier, conversion character.
_PRINTF_SPEC = re.compile(r"%[-+ 0#,!]*(\*|\d+)?(?:\.(\*|\d+))?l{0,2}([a-zA-Z%])")


def _printf_widths(fmt: str, args: tuple) -> Iterator[int]:
    """Every width and precision of a printf format, with ``*`` taken from the arguments."""
    arg = 0
    for match in _PRINTF_SPEC.finditer(fmt):
        if match[3] == "%":
            continue
        for part in (match[1], match[2]):
            if part == "*":
                value, arg = (args[arg] if arg < len(args) else 0), arg + 1
            elif part:
                value = part
            else:
                continue
            try:
                yield abs(int(value))
            except (TypeError, ValueError):
                yield 0
        arg += 1


def _guarded_printf(conn: sqlite3.Connection, max_value_bytes: int) -> None:
    """printf()/format() that refuse widths and precisions adding up beyond the length limit.

    SQLite 3.40 builds ``%.*c`` one character at a time, checking the length limit only to drop
    each append: ``printf('%.*c', 999999999, 'x')`` fails, but after 3 s of CPU that no progress
    handler can interrupt. The checked call runs the built-in printf on a private connection."""
    helper = sqlite3.connect(":memory:", check_same_thread=False)
    helper.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, max_value_bytes)

    def printf(fmt: Any, *args: Any) -> Any:
        # the widths and precisions together bound the work (several %.*c just under the limit
        # each would loop as long as one over it)
        if isinstance(fmt, str) and sum(_printf_widths(fmt, args)) > max_value_bytes:
            # a result one byte over the limit: SQLite itself fails the statement with its own
            # "string or blob too big", as for every other oversized value
            return b"\0" * (max_value_bytes + 1)
        marks = ", ".join("?" * (len(args) + 1))
        return helper.execute(f"select printf({marks})", (fmt, *args)).fetchone()[0]

    for name in ("printf", "format"):
        conn.create_function(name, -1, printf, deterministic=True)


def limit_connection(conn: sqlite3.Connection, max_value_bytes: int = MAX_VALUE_BYTES,
                     hide_columns: frozenset[tuple[str, str]] = RAW_CAPTURE_COLUMNS) -> None:
    """Per-connection SQLite limits, plus an authorizer reading ``hide_columns`` as NULL."""
    conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, max_value_bytes)
    for limit, value in _FIXED_LIMITS.items():
        conn.setlimit(limit, value)
    _guarded_printf(conn, max_value_bytes)
    if hide_columns:
        def authorizer(action: int, arg1: str | None, arg2: str | None, _db: str | None, _src: str | None) -> int:
            if action == sqlite3.SQLITE_READ and (arg1, arg2) in hide_columns:
                return sqlite3.SQLITE_IGNORE  # the column reads as NULL
            return sqlite3.SQLITE_OK

        conn.set_authorizer(authorizer)


@hookimpl
def prepare_connection(conn: sqlite3.Connection, database: str, datasette: Any) -> None:
    settings = config(datasette)
    # process-wide; setting it again from each connection is harmless
    conn.execute(f"pragma hard_heap_limit = {int(settings['sqlite_heap_bytes'])}")
    limit_connection(conn, int(settings["max_value_bytes"]),
                     frozenset() if settings["show_captures"] else RAW_CAPTURE_COLUMNS)


# ---------------------------------------------------------------- requests

# Query-string keys that never make a page more expensive.
_CHEAP_ARGS = frozenset({"_shape", "_labels", "_nl", "_json", "_trace", "_context"})
_TABLE_PATH = re.compile(r"^/(?P<database>[^/]+)/(?P<name>[^/]+?)(?:\.(?P<format>\w+))?$")
_HIDDEN_IN_PUBLIC = re.compile(r"^/-/(databases|threads)(\.json)?$")
_CAPTURE_TEXT = re.compile(r"^/-/govbrief/(capture|warc)/")  # raw capture as text, one capture as WARC


# Plugin routes that search or aggregate (pipelines/publish/datasette_plugin/reader.py, facts_plugin.py).
_HEAVY_ROUTES = ("/-/search", "/-/govbrief/facts-chart")


def is_heavy(datasette: Any, path: str, query_string: str) -> bool:
    """Whether a request may run a query for the whole time limit.

    Cheap: Datasette's own pages (/, /-/...), database pages without SQL, row pages (primary-key
    lookups) and a table page without options whose table has no default facets. Everything else:
    canned queries, custom SQL, search, filters, facets, sorting, CSV."""
    if path.startswith(_HEAVY_ROUTES):
        return True  # the reader's search result list and its exports, the facts chart: queries over hits
    if path.startswith("/-/") or path == "/":
        return False
    args = {part.split("=", 1)[0] for part in query_string.split("&") if part}
    if args - _CHEAP_ARGS:
        return True
    parts = path.strip("/").split("/")
    if len(parts) == 1:
        return False  # database page: table list with counts bounded at 10 ms each
    if len(parts) >= 3:
        return False  # row page
    match = _TABLE_PATH.match(path)
    if not match:
        return True
    database, name = match["database"], match["name"]
    if name in (datasette.metadata("queries", database=database) or {}):
        return True
    return bool(datasette.table_metadata(database, name).get("facets"))


async def _plain(send: Any, status: int, message: str, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    body = json.dumps({"ok": False, "error": message, "status": status}, ensure_ascii=False).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json; charset=utf-8"), *(headers or [])]})
    await send({"type": "http.response.body", "body": body})


class HeavyGate:
    """At most ``slots`` heavy requests at once; at most ``queue`` waiting, each for ``wait_s``."""

    def __init__(self, slots: int, queue: int, wait_s: float):
        self.slots = asyncio.Semaphore(max(1, slots))
        self.queue = queue
        self.wait_s = wait_s
        self.waiting = 0

    async def run(self, app: Any, scope: dict, receive: Any, send: Any) -> None:
        if self.waiting >= self.queue:
            await _plain(send, 503, "the server is busy with other searches; try again in a few seconds",
                         [(b"retry-after", b"5")])
            return
        self.waiting += 1
        try:
            await asyncio.wait_for(self.slots.acquire(), self.wait_s)
        except TimeoutError:
            await _plain(send, 503, "the server is busy with other searches; try again in a few seconds",
                         [(b"retry-after", b"5")])
            return
        finally:
            self.waiting -= 1
        try:
            await app(scope, receive, send)
        finally:
            self.slots.release()


@hookimpl
def asgi_wrapper(datasette: Any) -> Any:
    def wrap(app: Any) -> Any:
        gate: HeavyGate | None = None

        async def limited(scope: dict, receive: Any, send: Any) -> None:
            nonlocal gate
            if scope.get("type") != "http":
                await app(scope, receive, send)
                return
            settings = config(datasette)
            path = scope.get("path", "")
            if settings["public"] and scope.get("method", "GET") not in ("GET", "HEAD", "OPTIONS"):
                # nothing on the public server accepts a write (no write canned queries, no login)
                await _plain(send, 405, "this archive is read-only", [(b"allow", b"GET, HEAD")])
                return
            if settings["public"] and _HIDDEN_IN_PUBLIC.match(path):
                await _plain(send, 404, "not published on this server")
                return
            if not settings["show_captures"] and _CAPTURE_TEXT.match(path):
                await _plain(send, 403, "raw captures are not published on this server; the archive's operator "
                                        "exports them as WARC (govbrief export-warc)")
                return
            if not is_heavy(datasette, path, scope.get("query_string", b"").decode("latin-1")):
                await app(scope, receive, send)
                return
            if gate is None:  # created inside the server's event loop
                slots = settings["heavy_slots"] or datasette.setting("num_sql_threads") - CHEAP_THREADS
                gate = HeavyGate(int(slots), int(settings["heavy_queue"]),
                                 float(settings["heavy_wait_s"]))
            await gate.run(app, scope, receive, send)

        return limited

    return wrap


@hookimpl
def handle_exception(datasette: Any, request: Any, exception: Exception) -> Any:
    """A query stopped by a limit is the visitor's error (400), not the server's (500): Datasette's
    table view reports sqlite3.OperationalError itself but lets DataError ("string or blob too big")
    and MemoryError through."""
    if isinstance(exception, sqlite3.DataError):
        status, message = 400, (f"{exception}: this server refuses values over "
                                f"{int(config(datasette)['max_value_bytes']) // 1024 // 1024} MiB")
    elif isinstance(exception, MemoryError) or "out of memory" in str(exception).lower():
        status, message = 503, "the query needs more memory than this server allows"
    else:
        return None
    from datasette.utils.asgi import Response

    if request.path.endswith(".json"):
        return Response.json({"ok": False, "error": message, "status": status}, status=status)
    body = f"<!DOCTYPE html><title>Error {status}</title><h1>Error {status}</h1><p>{html.escape(message)}</p>"
    return Response.html(body, status=status)


@hookimpl
def extra_template_vars(datasette: Any) -> dict[str, Any]:
    """Templates link raw captures (capture as text) only when they are published."""
    return {"govbrief_show_captures": bool(config(datasette)["show_captures"])}
