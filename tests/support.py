"""Helpers shared by the tests that run real `govbrief` processes and read the archive they wrote."""

from __future__ import annotations

import contextlib
import os
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def run_crawl(sources: Path, db: Path, *extra: str, env: dict[str, str] | None = None, timeout: int = 180,
              preexec=None) -> subprocess.CompletedProcess:
    """`govbrief crawl` as cron runs it (a separate process: Twisted's reactor starts once per process)."""
    return subprocess.run(
        [sys.executable, "-m", "govbrief", "crawl", "--sources", str(sources), "--db", str(db), "--delay", "0",
         *extra],
        cwd=REPO, capture_output=True, text=True, timeout=timeout, preexec_fn=preexec,
        env=env if env is not None else {**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def fresh_interpreter(script: str) -> list[str]:
    """Run `script` in a new Python process from the checkout (nothing imported or cached yet, as in a
    crawl's processes) and return the words it printed; the script must succeed."""
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.split()


def copy_archive(archive: Path, tmp_path: Path) -> Path:
    """A copy of the archive in tmp_path, with what its write-ahead log holds folded in (copying the
    file alone would miss the transactions not checkpointed yet)."""
    copy = tmp_path / "archive.db"
    source, target = sqlite3.connect(archive), sqlite3.connect(copy)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()
    return copy


def rows(db: Path, sql: str, params: Sequence = ()) -> list[dict]:
    """Query the archive through a plain sqlite3 connection (not the code under test)."""
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(sql, params)]
    finally:
        conn.close()


@contextlib.contextmanager
def served(archive: Path, log_dir: Path) -> Iterator[str]:
    """`datasette serve` of an archive as a subprocess (logging to log_dir); yields its base URL."""
    from pipelines.publish.serve import datasette_process

    with open(log_dir / "datasette.log", "w") as log, datasette_process(archive, output=log) as base:
        yield base


def consecutive_free_ports(count: int) -> int:
    """A first port such that it and the next count-1 ports are free on 127.0.0.1 right now."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = probe.getsockname()[1]
        if base + count > 65535:
            continue
        sockets = []
        try:
            for port in range(base, base + count):
                s = socket.socket()
                sockets.append(s)
                s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    raise RuntimeError("no run of free ports found")
