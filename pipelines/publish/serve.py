"""Publishing the archive with Datasette: one configuration for `govbrief serve`, tests and benches.

`govbrief serve` runs Datasette in its own process (``run``: Datasette's app under uvicorn, no
child process), so SIGTERM/SIGINT from systemd, a container runtime or Ctrl-C stop the server and
nothing is left listening. Two modes (docs/deploy.md):

* **public** (default): anonymous visitors get the journalist features - search, facets, table and
  article pages, canned queries, Atom feeds, JSON - but no arbitrary SQL (``allow_sql: false`` in
  metadata.yml, which also refuses ``?_where=``), no raw capture bodies, no server file paths;
  every SQLite connection carries length and heap limits and queries a time limit
  (pipelines/publish/limits.py); at most ``heavy_slots`` expensive requests run at once so cheap
  pages stay fast.
* **trusted** (``--allow-sql``): custom read-only SQL for newsroom-internal use, still under every
  limit above; bind it to 127.0.0.1 or put it behind the reverse proxy's authentication.
  ``--show-captures`` publishes raw capture bodies (captures.body, capture as text) in either mode.

Storage: an archive in a read-only place (directory or file not writable: where published copies
live) is opened immutable (Datasette's ``-i``: no locking, no -shm file) with table counts computed
once at start; a live archive that a crawl keeps writing is opened read-only (``mode=ro``) and read
alongside the crawl thanks to WAL. No whole-database download; CSV streaming bounded by max_csv_mb.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import IO, Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DB_NAME = "archive"  # metadata.yml describes the database under this name
LIMITS_PLUGIN = "govbrief-limits"

SETTINGS: dict[str, Any] = {
    "sql_time_limit_ms": 1000,
    "max_returned_rows": 1000,
    "default_page_size": 50,
    "facet_time_limit_ms": 500,
    "suggest_facets": False,  # suggestions run extra queries on every page of a large table
    "allow_download": False,
    "allow_csv_stream": True,
    "max_csv_mb": 50,
    "truncate_cells_html": 300,
    "default_cache_ttl": 60,
    # SQL threads: 2 for expensive requests (limits: heavy_slots = num_sql_threads - CHEAP_THREADS),
    # the other 2 always free for cheap pages (row pages, small tables); more heavy threads than
    # cores only split the same CPU.
    "num_sql_threads": 4,
}

# Address space the server process may use for data (RLIMIT_DATA): Python's copies of query results
# are outside SQLite's heap limit, and a trusted-mode query like `select zeroblob(4000000) from
# (1000 rows)` would otherwise hold 4 GB. Above it, allocations fail (MemoryError -> 503 for that
# request) and the server lives on. Idle, the server uses ~150 MB of it.
MEMORY_LIMIT_MB = 800

# Seconds each table may take to count when an immutable archive is opened (then counted lazily).
COUNT_SECONDS_PER_TABLE = 5.0


def metadata_path() -> Path:
    """The Datasette metadata: GOVBRIEF_METADATA if set, else the checkout's metadata.yml (the
    file people edit), else the copy the build put into this package (setup.py: build_py)."""
    if os.environ.get("GOVBRIEF_METADATA"):
        path = Path(os.environ["GOVBRIEF_METADATA"])
    elif (REPO_ROOT / "metadata.yml").is_file() and (REPO_ROOT / "pyproject.toml").is_file():  # a checkout
        path = REPO_ROOT / "metadata.yml"
    else:
        path = Path(str(resources.files(__package__).joinpath("metadata.yml")))
    if not path.exists():
        raise FileNotFoundError(f"Datasette metadata not found: {path} (reinstall govbrief or set GOVBRIEF_METADATA)")
    return path


def load_metadata(db_path: str | Path, *, allow_sql: bool = False, show_captures: bool = False,
                  limits: dict[str, Any] | None = None) -> dict:
    """metadata.yml for serving db_path in the chosen mode.

    Datasette names a database after its file, and metadata.yml describes "archive"; an archive
    stored as e.g. news.db gets the same titles, facets and canned queries. Trusted mode drops
    the ``allow_sql: false`` block; the limits plugin gets its mode and any overrides."""
    metadata = yaml.safe_load(metadata_path().read_text(encoding="utf-8"))
    name = Path(db_path).stem
    databases = metadata.get("databases") or {}
    if name != DEFAULT_DB_NAME and DEFAULT_DB_NAME in databases:
        databases[name] = databases.pop(DEFAULT_DB_NAME)
    if allow_sql:
        metadata.pop("allow_sql", None)
        for database in databases.values():
            database.pop("allow_sql", None)
    plugins = metadata.setdefault("plugins", {})
    plugins[LIMITS_PLUGIN] = {**plugins.get(LIMITS_PLUGIN, {}), "public": not allow_sql,
                              "show_captures": show_captures, **(limits or {})}
    return metadata


def read_only_place(db_path: str | Path) -> bool:
    """True when the archive or its directory cannot be written (read-only mount, permissions):
    no crawl can be writing it, and SQLite could not create the -shm file a WAL reader needs."""
    path = Path(db_path).resolve()
    return not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK))


def count_tables(db_path: str | Path, seconds_per_table: float = COUNT_SECONDS_PER_TABLE) -> dict[str, int]:
    """Row counts of an immutable archive, for Datasette's inspect data: table pages and the
    database page then never count at request time. A table slower than seconds_per_table to
    count is left out (Datasette counts it per request, under the time limit)."""
    uri = Path(db_path).resolve().as_uri() + "?immutable=1"
    conn = sqlite3.connect(uri, uri=True)
    counts: dict[str, int] = {}
    try:
        names = [r[0] for r in conn.execute("select name from sqlite_master where type = 'table'")]
        for name in names:
            deadline = time.monotonic() + seconds_per_table
            conn.set_progress_handler(lambda d=deadline: time.monotonic() > d, 10_000)
            try:
                quoted = '"' + name.replace('"', '""') + '"'
                counts[name] = conn.execute(f"select count(*) from {quoted}").fetchone()[0]
            except sqlite3.DatabaseError:  # interrupted, or a virtual table that cannot be counted
                continue
    finally:
        conn.close()
    return counts


def make_datasette(db_path: str | Path, *, allow_sql: bool = False, show_captures: bool = False,
                   immutable: bool | None = None, settings: dict[str, Any] | None = None,
                   limits: dict[str, Any] | None = None) -> Any:
    """Datasette configured as `govbrief serve` configures it (``ds.client.get(...)`` in tests).

    immutable=None decides from the file system (read_only_place)."""
    from datasette.app import Datasette

    db_path = str(db_path)
    if immutable is None:
        immutable = read_only_place(db_path)
    metadata = load_metadata(db_path, allow_sql=allow_sql, show_captures=show_captures, limits=limits)
    options: dict[str, Any] = {"metadata": metadata, "settings": {**SETTINGS, **(settings or {})}}
    if immutable:
        name = Path(db_path).stem
        options["immutables"] = [db_path]
        options["inspect_data"] = {name: {"hash": None, "size": Path(db_path).stat().st_size, "file": db_path,
                                          "tables": {t: {"count": n} for t, n in count_tables(db_path).items()}}}
        return Datasette([], **options)
    return Datasette([db_path], **options)


def wal_warning(db_path: str | Path) -> str | None:
    """An immutable reader ignores the -wal file: say so when it holds changes."""
    wal = Path(str(db_path) + "-wal")
    if wal.exists() and wal.stat().st_size > 0:
        return (f"{wal} holds changes that are not in {db_path} yet; served immutable they are not shown "
                "(checkpoint where the archive is writable: sqlite3 archive.db 'pragma wal_checkpoint(truncate)')")
    return None


def limit_memory(megabytes: int) -> None:
    """Cap this process's data segment (heap and private mappings) at megabytes (0: no cap)."""
    import resource

    if megabytes > 0:
        limit = megabytes * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))


def run(db_path: str | Path, host: str = "127.0.0.1", port: int = 8001, memory_limit_mb: int = MEMORY_LIMIT_MB,
        **options: Any) -> None:
    """Serve db_path in this process until SIGTERM/SIGINT (uvicorn stops within seconds:
    in-flight requests get 5 s, every query is time-limited)."""
    import asyncio

    import uvicorn

    ds = make_datasette(db_path, **options)
    limit_memory(memory_limit_mb)

    # OpenCC's dictionary loads on first use (~0.5 s): now, not inside the first search's time limit
    from pipelines.search import search_index

    search_index.fold("項目")

    async def start() -> None:
        await ds.invoke_startup()
        for database in ds.databases.values():  # fail here, not on the first visitor
            await database.execute("select count(*) from sqlite_master")

    asyncio.run(start())
    uvicorn.run(ds.app(), host=host, port=port, log_level="info", lifespan="on", workers=1,
                timeout_graceful_shutdown=5)


def serve_command(db_path: str, host: str = "127.0.0.1", port: int = 8001,
                  settings: dict[str, Any] | None = None, *, extra: list[str] | None = None) -> list[str]:
    """`govbrief serve` run by this interpreter (the venv's bin/ need not be on PATH: cron,
    `.venv/bin/govbrief`); ``settings`` override SETTINGS; ``extra`` are more serve options
    (``--allow-sql``, ``--show-captures``, ``--immutable``)."""
    argv = [sys.executable, "-m", "govbrief", "serve", "--db", str(db_path), "--host", host, "--port", str(port)]
    for key, value in (settings or {}).items():
        argv += ["--setting", key, setting_text(value)]
    return argv + list(extra or [])


def setting_text(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def parse_setting(key: str, text: str) -> Any:
    """A --setting value typed like Datasette's default for that key; ValueError names the problem."""
    from datasette.app import DEFAULT_SETTINGS

    if key not in DEFAULT_SETTINGS:
        raise ValueError(f"unknown Datasette setting {key!r}")
    default = DEFAULT_SETTINGS[key]
    if isinstance(default, bool):
        if text.lower() not in ("on", "off", "true", "false", "1", "0"):
            raise ValueError(f"setting {key} expects on or off, got {text!r}")
        return text.lower() in ("on", "true", "1")
    if isinstance(default, int):
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"setting {key} expects a whole number, got {text!r}") from None
    return text


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def datasette_process(db_path: str | Path, *, settings: dict[str, Any] | None = None,
                      output: int | IO[Any] = subprocess.DEVNULL, cwd: str | Path | None = None,
                      timeout: float = 60, extra: list[str] | None = None) -> Iterator[str]:
    """`govbrief serve` of db_path as a subprocess on a free port of 127.0.0.1 (tests and
    benchmarks). Yields its base URL once it answers; stops it on exit."""
    port = free_port()
    process = subprocess.Popen(serve_command(str(db_path), "127.0.0.1", port, settings, extra=extra), cwd=cwd,
                               stdout=output, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"datasette exited with {process.returncode}")
            try:
                with urllib.request.urlopen(base + "/-/versions.json", timeout=2):
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"datasette did not start within {timeout} s") from None
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

