"""`govbrief demo` run twice updates the same archive: the sample web keeps its ports, so the article
URLs are the same and the second crawl finds nothing new (it used to double the archive)."""

from __future__ import annotations

import socket
import sqlite3
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

from support import consecutive_free_ports

from sampleweb import SITE_IDS


def demo(db: Path, web_port: int) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "govbrief", "demo", "--no-serve", "--db", str(db),
                           "--web-port", str(web_port)], capture_output=True, text=True, timeout=240)


def counts(db: Path) -> tuple[int, int, int]:
    with sqlite3.connect(db) as conn:
        return tuple(conn.execute(
            "select (select count(*) from articles), (select count(distinct url) from articles), "
            "(select count(*) from crawl_runs)").fetchone())


def test_demo_twice_keeps_one_copy_of_each_article(tmp_path: Path) -> None:
    db = tmp_path / "archive.db"
    port = consecutive_free_ports(len(SITE_IDS))
    first = demo(db, port)
    assert first.returncode == 0, first.stdout + first.stderr
    articles, _, runs = counts(db)
    assert articles > 20 and runs == 1
    second = demo(db, port)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "new articles 0" in second.stdout
    assert counts(db) == (articles, articles, 2)
    with sqlite3.connect(db) as conn:  # every URL names one of the fixed ports
        ports = {urlsplit(u).port for (u,) in conn.execute("select url from articles")}
    assert ports and ports <= set(range(port, port + len(SITE_IDS)))


def test_demo_names_a_busy_port(tmp_path: Path) -> None:
    port = consecutive_free_ports(len(SITE_IDS))
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", port + 1))
        busy.listen()
        result = demo(tmp_path / "archive.db", port)
    assert result.returncode == 2
    assert f"{port}-{port + len(SITE_IDS) - 1}" in result.stderr and "--web-port" in result.stderr
    assert not (tmp_path / "archive.db").exists()
