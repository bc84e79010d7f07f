"""A real redis-server for the scale-out tests and bench: started on a free local port, no persistence,
killed afterwards (Debian's redis-server, installed by scripts/install-redis)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
REDIS_SERVER = shutil.which("redis-server")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        if REDIS_SERVER is None:
            raise RuntimeError("redis-server is not installed (scripts/install-redis)")
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--protected-mode", "yes"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not answer on port {self.port}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def restart_empty(self) -> None:
        """What a Redis restart without persistence looks like to the crawl: everything is gone."""
        self.stop()
        self.start()


_started: list[subprocess.Popen] = []  # govbrief processes a test started: none outlives its Redis


@contextmanager
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer().start()
    try:
        yield server
    finally:
        # a test that failed half-way leaves its workers running (they would crawl on, alone, for
        # minutes, under the next tests)
        while _started:
            leftover = _started.pop()
            if leftover.poll() is None:
                leftover.kill()
                leftover.communicate()
        server.stop()


def govbrief(*args: str, **kwargs) -> subprocess.Popen:
    """A `govbrief` process (each its own reactor), output captured as text."""
    popen = subprocess.Popen([sys.executable, "-m", "govbrief", *args], cwd=REPO, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True,
                             env={**os.environ, "PYTHONUNBUFFERED": "1"}, **kwargs)
    _started.append(popen)
    return popen


def worker(sources: Path, url: str, *extra: str, heartbeat_ttl: int = 3) -> subprocess.Popen:
    return govbrief("crawl", "--sources", str(sources), "--redis", url, "--delay", "0", "--log-level", "WARNING",
                    "-s", f"GOVBRIEF_REDIS_HEARTBEAT_TTL={heartbeat_ttl}", *extra)


def process(url: str, db: Path, *extra: str, lineage: bool = False) -> subprocess.Popen:
    return govbrief("process", "--redis", url, "--db", str(db), "--log-level", "WARNING",
                    *(() if lineage else ("--no-lineage",)), *extra)


def finish(popen: subprocess.Popen, timeout: float = 240) -> tuple[int, str]:
    out, err = popen.communicate(timeout=timeout)
    return popen.returncode, out + err[-4000:]
