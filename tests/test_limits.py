"""pipelines/publish/limits.py in pieces: SQLite limits on a real connection, the printf guard, which
requests count as heavy, and the gate's bounded queue. (Over HTTP: tests/test_public_server.py.)"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from pipelines.publish.limits import HeavyGate, is_heavy, limit_connection
from pipelines.publish.serve import make_datasette
from pipelines.store import migrations, storage


@pytest.fixture()
def conn() -> sqlite3.Connection:
    connection = sqlite3.connect(":memory:")
    limit_connection(connection, max_value_bytes=1_000_000)
    connection.execute("create table captures (id integer primary key, body blob, url text)")
    connection.execute("insert into captures (body, url) values (x'1f8b0800', 'http://a.gov.cn/')")
    return connection


@pytest.mark.parametrize("sql", [
    "select printf('%.*c', 999999999, 'x')", "select format('%999999999d', 1)",
    "select printf('" + "%.*c" * 60 + "', " + ", ".join(["900000, 'x'"] * 60) + ")",  # each under the limit
    "select randomblob(1000000000)",
    "select hex(randomblob(600000))", "select zeroblob(1000000000)",
    "select replace(printf('%.*c', 600000, 'x'), 'x', 'xx')",
    "with recursive c(x) as (select 1 union all select x + 1 from c limit 20000) "
    "select group_concat(printf('%.100c', 'y')) from c",
])
def test_value_bombs_fail_with_too_big(conn: sqlite3.Connection, sql: str) -> None:
    with pytest.raises(sqlite3.DataError, match="too big"):
        conn.execute(sql).fetchall()


@pytest.mark.parametrize(("fmt", "args"), [
    ("%d-%s-%5.2f %%", (3, "a", 2.5)), ("%.*c", (5, "x")), ("%-8s|", ("项目",)), ("%q", ("it's",)),
    ("%05d %x %o %e", (42, 255, 8, 1234.5)), ("%*d", (6, 7)), ("%s", ()), ("%!.3s", ("项目建设",)), ("%,d", (1234567,)),
])
def test_guarded_printf_answers_like_sqlite(conn: sqlite3.Connection, fmt: str, args: tuple) -> None:
    plain = sqlite3.connect(":memory:")
    marks = ", ".join("?" * (len(args) + 1))
    expected = plain.execute(f"select printf({marks}), format({marks})", (fmt, *args, fmt, *args)).fetchone()
    assert conn.execute(f"select printf({marks}), format({marks})", (fmt, *args, fmt, *args)).fetchone() == expected


def test_raw_capture_bodies_read_as_null(conn: sqlite3.Connection) -> None:
    assert conn.execute("select body, url from captures").fetchone() == (None, "http://a.gov.cn/")
    assert conn.execute("select count(*) from captures where body is not null").fetchone() == (0,)
    shown = sqlite3.connect(":memory:")
    limit_connection(shown, hide_columns=frozenset())
    shown.execute("create table captures (body blob)")
    shown.execute("insert into captures values (x'01')")
    assert shown.execute("select body from captures").fetchone() == (b"\x01",)


def test_other_limits(conn: sqlite3.Connection) -> None:
    with pytest.raises(sqlite3.DatabaseError):
        conn.execute("select 1 " + "union all select 1 " * 60).fetchall()  # compound select limit
    with pytest.raises(sqlite3.DatabaseError):
        conn.execute("attach database ':memory:' as other")


@pytest.fixture(scope="module")
def datasette(tmp_path_factory: pytest.TempPathFactory):
    path = Path(tmp_path_factory.mktemp("limits")) / "archive.db"
    db = storage.open_db(path)
    migrations.ensure_schema(db)
    db.close()
    return make_datasette(path)


@pytest.mark.parametrize(("path", "query", "heavy"), [
    ("/", "", False), ("/-/versions.json", "", False), ("/archive", "", False),
    ("/archive/articles/1", "", False), ("/archive/crawl_runs", "", False),
    ("/archive/crawl_runs.json", "_shape=array", False), ("/archive/sources", "", True),  # sources has facets
    ("/-/search", "q=x", True), ("/-/search.json", "q=x", True),
    ("/archive/articles", "", True),  # default facets
    ("/archive/sources", "_sort=name", True), ("/archive/sources", "region=x", True),
    ("/archive/articles.json", "_search=%E9%A1%B9", True), ("/archive/search", "q=x", True),
    ("/archive/search_feed.atom", "", True), ("/archive", "sql=select+1", True),
    ("/archive/sources.csv", "_stream=on", True),
])
def test_heavy_requests(datasette, path: str, query: str, heavy: bool) -> None:
    assert is_heavy(datasette, path, query) is heavy


def test_gate_queue_is_bounded_and_waits_are_bounded() -> None:
    """One slot, one waiting place: the third request is refused at once, the waiting one after wait_s."""
    async def scenario() -> list[int]:
        release = asyncio.Event()
        statuses: list[int] = []

        async def slow_app(scope: dict, receive, send) -> None:
            await release.wait()
            await send({"type": "http.response.start", "status": 200, "headers": []})

        def sender() -> object:
            async def send(message: dict) -> None:
                if message["type"] == "http.response.start":
                    statuses.append(message["status"])
            return send

        gate = HeavyGate(slots=1, queue=1, wait_s=0.3)
        first = asyncio.create_task(gate.run(slow_app, {}, None, sender()))
        await asyncio.sleep(0.05)
        second = asyncio.create_task(gate.run(slow_app, {}, None, sender()))
        await asyncio.sleep(0.05)
        await gate.run(slow_app, {}, None, sender())  # queue full: answered without waiting
        assert statuses == [503]
        await second  # waited wait_s for the slot, then 503
        release.set()
        await first
        await gate.run(slow_app, {}, None, sender())  # the slot was given back
        return statuses

    assert asyncio.run(scenario()) == [503, 503, 200, 200]
