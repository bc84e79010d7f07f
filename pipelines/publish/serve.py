"""Publishing the archive with Datasette: one configuration for `govbrief serve` and for tests.

Safety settings (see docs/search.md, "Publishing safely"):
  * the database is opened as a normal (mutable) file, which Datasette 0.65 reads through
    ``mode=ro`` connections; it is not opened ``--immutable`` because the crawl keeps writing;
    no plugin that writes is installed;
  * every SQL statement - table pages, canned queries, custom SQL - stops after
    ``sql_time_limit_ms``; at most ``max_returned_rows`` rows per response;
  * custom SQL is allowed (read-only, time-limited): the archive is public material and the SQL
    interface is what lets reporters ask questions the canned queries do not anticipate;
  * no whole-database download (it would include every raw capture); CSV streaming is bounded
    by ``max_csv_mb``.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DB_NAME = "archive"  # metadata.yml describes the database under this name

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
}


def metadata_path() -> Path:
    """metadata.yml at the repository root (GOVBRIEF_METADATA overrides)."""
    path = Path(os.environ.get("GOVBRIEF_METADATA") or REPO_ROOT / "metadata.yml")
    if not path.exists():
        raise FileNotFoundError(f"Datasette metadata not found: {path} (set GOVBRIEF_METADATA)")
    return path


def load_metadata(db_path: str | Path) -> dict:
    """metadata.yml, with its database section renamed to the file's stem.

    Datasette names a database after its file, and metadata.yml describes "archive"; an archive
    stored as e.g. news.db gets the same titles, facets and canned queries."""
    metadata = yaml.safe_load(metadata_path().read_text(encoding="utf-8"))
    name = Path(db_path).stem
    databases = metadata.get("databases") or {}
    if name != DEFAULT_DB_NAME and DEFAULT_DB_NAME in databases:
        databases[name] = databases.pop(DEFAULT_DB_NAME)
    return metadata


def _metadata_file_for(db_path: str | Path) -> Path:
    if Path(db_path).stem == DEFAULT_DB_NAME:
        return metadata_path()
    out = Path(tempfile.gettempdir()) / f"govbrief-metadata-{Path(db_path).stem}.yml"
    out.write_text(yaml.safe_dump(load_metadata(db_path), allow_unicode=True, sort_keys=False),
                   encoding="utf-8")
    return out


def _setting_value(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def datasette_argv(db_path: str, host: str = "127.0.0.1", port: int = 8001) -> list[str]:
    """The command line for ``datasette serve``; argv[0] is "datasette".

    Run it with ``subprocess.call(argv)`` or in-process with
    ``datasette.cli.cli.main(args=argv[1:], prog_name="datasette")``."""
    argv = ["datasette", "serve", str(db_path), "--host", host, "--port", str(port),
            "--metadata", str(_metadata_file_for(db_path))]
    for key, value in SETTINGS.items():
        argv += ["--setting", key, _setting_value(value)]
    return argv


def serve_command(db_path: str, host: str = "127.0.0.1", port: int = 8001,
                  settings: dict[str, Any] | None = None) -> list[str]:
    """datasette_argv run by this interpreter (the venv's bin/ need not be on PATH: cron,
    `.venv/bin/govbrief`); ``settings`` override SETTINGS (a later --setting wins)."""
    argv = [sys.executable, "-m", "datasette", *datasette_argv(db_path, host, port)[1:]]
    for key, value in (settings or {}).items():
        argv += ["--setting", key, _setting_value(value)]
    return argv


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def datasette_process(db_path: str | Path, *, settings: dict[str, Any] | None = None,
                      output: int | IO[Any] = subprocess.DEVNULL, cwd: str | Path | None = None,
                      timeout: float = 60) -> Iterator[str]:
    """`datasette serve` of db_path with govbrief's configuration, as a subprocess on a free port
    of 127.0.0.1 (tests and benchmarks). Yields its base URL once it answers; stops it on exit."""
    port = free_port()
    process = subprocess.Popen(serve_command(str(db_path), "127.0.0.1", port, settings), cwd=cwd,
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


def make_datasette(db_path: str) -> Any:
    """The same configuration as an in-process Datasette, for tests (``ds.client.get(...)``)."""
    from datasette.app import Datasette

    return Datasette([str(db_path)], metadata=load_metadata(db_path), settings=dict(SETTINGS))
