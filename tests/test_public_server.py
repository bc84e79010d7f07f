"""The public server as deployed: the wheel installed into a fresh virtualenv, `govbrief serve` started
from another directory with no environment variable, on an archive in a read-only directory, probed
over HTTP the way an anonymous visitor would.

When the tests run as root (containers, CI), the server runs without CAP_DAC_OVERRIDE (setpriv), so
file permissions bind it as they bind any service user: the archive and its directory are really
read-only to it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import sysconfig
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from pipelines.publish.serve import free_port
from pipelines.store import migrations, storage

REPO = Path(__file__).resolve().parent.parent
# What a wheel is built from (a copy, so the build leaves nothing in the checkout).
BUILD_INPUTS = ("crawler", "pipelines", "govbrief", "pyproject.toml", "setup.py", "MANIFEST.in", "README.md",
                "metadata.yml")
ERRORS = 300_000  # fetch_errors rows: a table big enough for facets and sorts to cost real time

# The probes of the issue: each must be answered (an error is the expected answer) within 3 s.
BOMBS = ["select printf('%.*c', 999999999, 'x')", "select length(randomblob(1000000000))",
         "select hex(randomblob(500000000))", "select length(zeroblob(1000000000))",
         "select * from pragma_database_list", "select body from captures"]


def build_archive(directory: Path) -> Path:
    path = directory / "archive.db"
    db = storage.open_db(path)
    migrations.ensure_schema(db)
    for n in range(300):
        row = storage.article_row({"url": f"http://a.gov.cn/{n}.html", "title": f"项目建设第{n}期",
                                   "text": "重大项目推进" * 50, "published": f"2024-0{n % 9 + 1}-01"},
                                  source_id="a", region="测试", capture_id=None, fetched_at="2024-01-02T00:00:00Z")
        storage.upsert_article(db, row)
    db.execute("insert into sources (id, name, region) values ('a', '测试政府', '测试')")
    columns = {c.name for c in db["fetch_errors"].columns}
    rows = ({"url": f"http://a.gov.cn/missing/{n}.html", "source_id": "a", "reason": f"http_{400 + n % 7}"}
            for n in range(ERRORS))
    db["fetch_errors"].insert_all(({k: v for k, v in r.items() if k in columns} for r in rows), batch_size=10_000)
    db["captures"].insert({"url": "http://a.gov.cn/0.html", "final_url": "http://a.gov.cn/0.html", "status": 200,
                           "body": b"\x1f\x8b raw evidence", "body_encoding": "gzip", "fetched_at": "2024-01-02"},
                          alter=False)
    db.execute("pragma wal_checkpoint(truncate)")
    db.conn.commit()
    db.close()
    return path


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """bin/ of a fresh virtualenv holding the govbrief wheel; its dependencies come from the test
    environment (a .pth line), so nothing is downloaded."""
    root = tmp_path_factory.mktemp("wheel")
    source = root / "src"
    for name in BUILD_INPUTS:
        (shutil.copytree if (REPO / name).is_dir() else shutil.copy)(REPO / name, source / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", str(source),
                    "-w", str(root / "dist")], check=True, capture_output=True, timeout=300)
    [wheel] = (root / "dist").glob("govbrief-*.whl")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", str(wheel)],
                   check=True, capture_output=True, timeout=300)
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    (Path(site) / "test-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    for path in [root, *root.rglob("*")]:  # the service user (see as_service_user) reads it
        path.chmod(path.stat().st_mode | 0o555 if path.is_dir() else path.stat().st_mode | 0o444)
    return venv / "bin"


@pytest.fixture(scope="module")
def read_only_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("published")
    path = build_archive(directory)
    path.chmod(0o444)
    directory.chmod(0o555)
    directory.parent.chmod(0o755)
    return path


def as_service_user(argv: list[str]) -> list[str]:
    """argv without the root privilege of ignoring file permissions (setpriv), when run as root."""
    if os.geteuid() != 0:
        return argv
    if not shutil.which("setpriv"):
        pytest.skip("running as root without setpriv: cannot make the archive read-only to the server")
    return ["setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner", "--", *argv]


class Server:
    def __init__(self, bin_dir: Path, db: Path, cwd: Path, *extra: str):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GOVBRIEF_", "PYTHON", "VIRTUAL_ENV"))}
        self.log = cwd / f"serve-{self.port}.log"
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                as_service_user([str(bin_dir / "govbrief"), "serve", "--db", str(db), "--port", str(self.port),
                                 *extra]), cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            assert self.process.poll() is None, self.log.read_text()
            try:
                with urllib.request.urlopen(self.base + "/-/versions.json", timeout=2):
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                assert time.monotonic() < deadline, self.log.read_text()
                time.sleep(0.2)

    def get(self, path: str, timeout: float = 30) -> tuple[int, bytes, float]:
        start = time.monotonic()
        try:
            with urllib.request.urlopen(self.base + path, timeout=timeout) as response:
                return response.status, response.read(), time.monotonic() - start
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read(), time.monotonic() - start

    def peak_rss_mb(self) -> float:
        """VmHWM: the most memory the server process ever had resident."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM"))) / 1024

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture(scope="module")
def public(installed: Path, read_only_archive: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    before = hashlib.sha256(read_only_archive.read_bytes()).hexdigest()
    server = Server(installed, read_only_archive, tmp_path_factory.mktemp("elsewhere"))
    yield server
    server.stop()
    assert hashlib.sha256(read_only_archive.read_bytes()).hexdigest() == before  # the file is unchanged
    assert sorted(p.name for p in read_only_archive.parent.iterdir()) == ["archive.db"]  # no -wal, -shm, lock


def test_served_from_the_wheel_immutable_with_counts(public: Server) -> None:
    status, body, _ = public.get("/archive/articles.json?_shape=objects&_size=1")
    assert status == 200 and b'"filtered_table_rows_count": 300' in body
    assert b"immutable" in public.log.read_bytes()  # read-only place: served immutable, counted at start
    status, body, _ = public.get("/archive/search.json?q=%E9%A1%B9%E7%9B%AE&_shape=array")  # canned search
    assert status == 200 and json.loads(body)[0]["title"].startswith("项目"), body[:500]
    assert public.get("/archive/articles?_search=%E9%A1%B9%E7%9B%AE&_facet=region")[0] == 200
    assert public.get("/archive/articles/1")[0] == 200
    assert public.get("/archive/search_feed.atom?q=%E9%A1%B9%E7%9B%AE")[0] == 200


@pytest.mark.parametrize("sql", BOMBS)
def test_exhaustion_probes_answered_at_once(public: Server, sql: str) -> None:
    for path in (f"/archive.json?sql={quote(sql)}",
                 f"/archive/articles.json?_where={quote(sql.replace('select', '', 1) + ' is not null')}"):
        status, body, seconds = public.get(path)
        assert status == 403 and seconds < 3, (path, status, body[:200])
    assert public.peak_rss_mb() < 1024


def test_no_paths_no_raw_captures_no_writes(public: Server, read_only_archive: Path) -> None:
    for path in ("/-/databases.json", "/-/databases"):
        status, body, _ = public.get(path)
        assert status == 404 and str(read_only_archive.parent).encode() not in body
    status, body, _ = public.get("/archive/captures/1.json?_shape=array")
    assert status == 200 and b'"body": null' in body and b"raw evidence" not in body
    assert public.get("/-/govbrief/capture/archive/1")[0] == 403
    for sql in ("delete from articles", "update articles set title = 'x'", "pragma journal_mode = delete"):
        assert public.get(f"/archive.json?sql={quote(sql)}")[0] in (400, 403)
    request = urllib.request.Request(public.base + "/archive/articles", data=b"title=x", method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code in (400, 403, 405)


def test_cheap_pages_stay_fast_under_six_heavy_clients(public: Server) -> None:
    """6 clients loop the heaviest requests the public may send (facets, sorts and substring filters
    over a 300,000-row table, frequent searches); a one-row table page and an article page are
    timed meanwhile."""
    heavy = ["/archive/fetch_errors?_facet=url&_facet=reason&_sort_desc=url&url__contains=9",
             "/archive/fetch_errors.json?_facet=url&_sort=url&_size=max&reason__contains=4",
             "/archive/articles?_search=%E9%A1%B9%E7%9B%AE&_facet=title&_facet=text&_sort=text",
             "/archive/search?q=%E9%A1%B9%E7%9B%AE"]
    stop = threading.Event()
    heavy_answers: list[int] = []

    def client(n: int) -> None:
        i = n
        while not stop.is_set() and i < n + 200:  # bounded, whatever happens
            heavy_answers.append(public.get(heavy[i % len(heavy)], timeout=60)[0])
            i += 1

    clients = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(6)]
    for thread in clients:
        thread.start()
    time.sleep(2)  # every heavy client busy
    timings = []
    for n in range(40):
        status, _, seconds = public.get("/archive/crawl_runs" if n % 2 else "/archive/articles/1")
        assert status == 200
        timings.append(seconds)
        time.sleep(0.05)
    stop.set()
    for thread in clients:
        thread.join(timeout=90)
    timings.sort()
    p95 = timings[int(len(timings) * 0.95) - 1]
    assert p95 < 1.0, timings
    assert heavy_answers and set(heavy_answers) <= {200, 400, 503}, heavy_answers
    assert public.peak_rss_mb() < 1024


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_the_server_and_nothing_listens(installed: Path, read_only_archive: Path, tmp_path: Path,
                                                      signum: int) -> None:
    server = Server(installed, read_only_archive, tmp_path)
    try:
        server.process.send_signal(signum)
        assert server.process.wait(timeout=10) is not None
        with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", server.port), timeout=2):
            pass
    finally:
        server.stop()


def test_trusted_mode_bounds_custom_sql(installed: Path, read_only_archive: Path, tmp_path: Path) -> None:
    """--allow-sql: custom SQL for the newsroom, and each probe still fails at once in bounded memory."""
    server = Server(installed, read_only_archive, tmp_path, "--allow-sql")
    try:
        assert server.get("/archive.json?sql=select+count(*)+from+articles&_shape=array")[0] == 200
        for sql in BOMBS[:4]:
            status, body, seconds = server.get(f"/archive.json?sql={quote(sql)}")
            assert status == 400 and b"too big" in body and seconds < 3, (sql, body[:300])
        # many rows of values just under the length limit: Python's copy of the rows is what grows,
        # stopped by the time limit or the process's data limit (RLIMIT_DATA), never the server
        many = ("with recursive c(x) as (select 1 union all select x + 1 from c limit 1000) "
                "select zeroblob(4000000) from c")
        status, body, seconds = server.get(f"/archive.json?sql={quote(many)}")
        assert status in (400, 503) and seconds < 3, (status, body[:300])
        assert server.get("/archive/sources")[0] == 200  # and the server lives on
        status, body, _ = server.get(f"/archive.json?sql={quote('select body from captures')}&_shape=array")
        assert status == 200 and b"raw evidence" not in body  # raw captures stay hidden without --show-captures
        assert server.peak_rss_mb() < 1024
    finally:
        server.stop()


def test_a_wal_archive_in_a_writable_place_is_served_live(installed: Path, tmp_path: Path) -> None:
    """Where a crawl may be writing: read-only connections, new rows visible without a restart."""
    path = build_archive(tmp_path)
    path.parent.chmod(0o777)
    path.chmod(0o666)
    server = Server(installed, path, tmp_path)
    try:
        assert b"live" in server.log.read_bytes()
        conn = sqlite3.connect(path)
        conn.execute("insert into sources (id, name, region) values ('b', '新来源', '测试')")
        conn.commit()
        conn.close()
        status, body, _ = server.get("/archive/sources.json?_shape=array")
        assert status == 200 and "新来源" in [row["name"] for row in json.loads(body)]
    finally:
        server.stop()
