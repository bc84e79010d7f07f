"""Capture and processing apart, on real crawls: captures first, articles by `govbrief process`.

A crawl with GOVBRIEF_PROCESS=0 only stores captures (what the reactor thread does in every crawl);
`govbrief process` turns the waiting captures into articles with worker processes; processing a
capture again (or re-extracting everything) gives the same rows and records nothing twice.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from faultserver import start_fault_web  # noqa: E402
from support import copy_archive, fresh_interpreter, rows, run_crawl  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
ARTICLE_COLUMNS = "id, url, title, text, published, capture_id, source_id, region, first_fetched"


def govbrief(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "govbrief", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=180)


@pytest.fixture(scope="module")
def captured(tmp_path_factory):
    """A 3-page column of 30 articles crawled with processing off, then crawled again."""
    tmp = tmp_path_factory.mktemp("process")
    with start_fault_web() as web:
        web.big_pages, web.per_page = 3, 10
        sources, db = web.write_sources(tmp / "sources.yml", faulty=False, trap=False, wide=False, big=True), \
            tmp / "archive.db"
        first = run_crawl(sources, db, "-s", "GOVBRIEF_PROCESS=0")
        waiting = rows(db, "select count(*) n from captures where processed_at is null")[0]["n"]
        articles_after_capture = rows(db, "select count(*) n from articles")[0]["n"]
        hits = web.hit_counts()
        second = run_crawl(sources, db, "-s", "GOVBRIEF_PROCESS=0")
        refetched = sum(n for p, n in (web.hit_counts() - hits).items() if p.startswith("/big/a/"))
        yield {"db": db, "first": first, "second": second, "waiting": waiting, "refetched": refetched,
               "articles_after_capture": articles_after_capture, "urls": set(web.big_urls())}


def test_capture_only_crawl_stores_captures_and_no_article(captured):
    assert captured["first"].returncode == 0, captured["first"].stdout + captured["first"].stderr[-2000:]
    assert captured["waiting"] == 30 and captured["articles_after_capture"] == 0
    # a stored capture is known: the next run does not fetch the article again
    assert captured["second"].returncode == 0, captured["second"].stdout
    assert captured["refetched"] == 0


def test_process_turns_waiting_captures_into_articles_once(captured):
    db = captured["db"]
    result = govbrief("process", "--db", str(db), "--workers", "2")
    assert result.returncode == 0, result.stderr
    assert "processed 30 captures: 30 new articles" in result.stdout, result.stdout
    assert {r["url"] for r in rows(db, "select url from articles")} == captured["urls"]
    assert rows(db, "select count(*) n from captures where processed_at is null")[0]["n"] == 0
    again = govbrief("process", "--db", str(db))
    assert "processed 0 captures" in again.stdout, again.stdout
    # the articles are searchable: the index was written in the same transactions
    conn = sqlite3.connect(db)
    from pipelines.search.search_index import search_ids

    assert len(search_ids(conn, "项目建设进展")) == 30
    conn.close()


def test_processing_a_capture_twice_gives_the_same_rows(captured):
    db = captured["db"]
    if not rows(db, "select count(*) n from articles")[0]["n"]:
        govbrief("process", "--db", str(db), "--workers", "0")
    before = rows(db, f"select {ARTICLE_COLUMNS} from articles order by id")
    errors_before = rows(db, "select count(*) n from fetch_errors")[0]["n"]
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("update captures set processed_at = null")  # as if every capture were new again
    conn.close()
    result = govbrief("process", "--db", str(db), "--workers", "2")
    assert result.returncode == 0, result.stderr
    assert "0 new articles, 30 updated" in result.stdout, result.stdout
    assert rows(db, f"select {ARTICLE_COLUMNS} from articles order by id") == before
    assert rows(db, "select count(*) n from fetch_errors")[0]["n"] == errors_before
    result = govbrief("reextract", "--db", str(db))
    assert result.returncode == 0 and "re-extracted 30 articles" in result.stdout and "0 changed" in result.stdout
    assert rows(db, f"select {ARTICLE_COLUMNS} from articles order by id") == before


def test_crawl_with_processing_counts_each_article_once(tmp_path):
    with start_fault_web() as web:
        web.big_pages, web.per_page = 2, 10
        sources = web.write_sources(tmp_path / "sources.yml", faulty=False, trap=False, wide=False, big=True)
        db = tmp_path / "archive.db"
        result = run_crawl(sources, db)
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]
    assert "new articles 20" in result.stdout
    [run] = rows(db, "select stats, articles_new, errors from crawl_runs")
    stats = json.loads(run["stats"])["big"]
    assert stats["article_ok"] == 20 and stats["articles_new"] == 20 and run["errors"] == 0
    assert not any(key.endswith("_failed") for key in stats), stats
    assert rows(db, "select count(*) n from captures where processed_at is null")[0]["n"] == 0
    assert rows(db, "select count(*) n from crawl_frontier where state != 'done'")[0]["n"] == 0  # all settled


def _wait_for_niceness(pid: int, at_least: int, seconds: float = 30.0) -> int:
    deadline = time.monotonic() + seconds
    while True:
        value = os.getpriority(os.PRIO_PROCESS, pid)
        if value >= at_least or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


@pytest.fixture(scope="module")
def waiting_only(tmp_path_factory) -> Path:
    """An archive of 30 captures waiting for processing, never processed in place (tests copy it)."""
    tmp = tmp_path_factory.mktemp("waiting")
    with start_fault_web() as web:
        web.big_pages, web.per_page = 3, 10
        sources = web.write_sources(tmp / "sources.yml", faulty=False, trap=False, wide=False, big=True)
        result = run_crawl(sources, tmp / "archive.db", "-s", "GOVBRIEF_PROCESS=0")
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]
    assert rows(tmp / "archive.db", "select count(*) n from captures where processed_at is null")[0]["n"] == 30
    return tmp / "archive.db"


def test_processing_stops_on_a_full_disk_and_its_captures_wait(waiting_only, tmp_path):
    """Processing's writer hits a full disk: `govbrief process` stops with exit 74 and says so; every
    capture is either written with its article or still waiting; with space again, the rest is done."""
    import resource

    db = copy_archive(waiting_only, tmp_path)

    def small_disk() -> None:
        # no file may grow past 64 KiB: the archive is not grown (writes go to the write-ahead log, which
        # starts empty), the log has room for the run's bookkeeping, not for the batch of 30 articles
        limit = 64 * 1024
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    result = subprocess.run([sys.executable, "-m", "govbrief", "process", "--db", str(db), "--workers", "2"],
                            cwd=REPO, capture_output=True, text=True, timeout=180, preexec_fn=small_disk)
    assert result.returncode == 74, result.stdout + result.stderr[-3000:]
    assert "cannot write the archive" in result.stderr and "Traceback" not in result.stderr
    articles = rows(db, "select count(*) n from articles")[0]["n"]
    waiting = rows(db, "select count(*) n from captures where processed_at is null")[0]["n"]
    assert articles + waiting == 30 and waiting > 0
    assert rows(db, "pragma integrity_check")[0]["integrity_check"] == "ok"
    again = govbrief("process", "--db", str(db))
    assert again.returncode == 0, again.stdout + again.stderr[-2000:]
    assert rows(db, "select count(*) n, count(distinct url) u from articles")[0] == {"n": 30, "u": 30}


def test_a_failing_write_fails_processing_instead_of_hanging(waiting_only, tmp_path, monkeypatch):
    """A write that fails other than by storage (a bug of ours) is raised where processing was started
    (the crawl's processing process logs it and leaves the captures waiting), never swallowed or hung on."""
    from pipelines.process import runner

    db = copy_archive(waiting_only, tmp_path)

    def broken(*_args, **_kwargs):
        raise RuntimeError("a bug in the writer")

    monkeypatch.setattr(runner, "store_processed", broken)
    outcome: list = []

    def run() -> None:
        try:
            runner.Processor(db, workers=0, batch_size=2).run()
        except RuntimeError as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(60)
    assert not thread.is_alive() and outcome and "a bug in the writer" in str(outcome[0])
    assert rows(db, "select count(*) n from captures where processed_at is null")[0]["n"] == 30


def test_the_writer_loads_its_tables_after_feeding_the_workers_not_in_the_first_write(waiting_only, tmp_path):
    """The first batch's write holds the feed: the workers get nothing new until it is done. What the
    writer loads lazily (the search index's fold table, the facts module) is loaded as soon as the
    workers have their first captures, so the first write costs what the others do."""
    db = copy_archive(waiting_only, tmp_path)
    script = (
        "import sys\n"
        "from pipelines.process import runner\n"
        "from pipelines.search.search_index import fold_table\n"
        "seen = []\n"
        "real = runner.store_processed\n"
        "def store(db, batch, **kw):\n"
        "    seen.append((fold_table.cache_info().currsize, 'pipelines.facts.extract' in sys.modules))\n"
        "    return real(db, batch, **kw)\n"
        "runner.store_processed = store\n"
        "before = fold_table.cache_info().currsize, 'pipelines.facts.extract' in sys.modules\n"
        f"stats = runner.Processor({str(db)!r}, workers=1, batch_size=10).run()\n"
        "print(*before, *seen[0], stats.batches, stats.total('articles_new'))\n"
    )
    assert fresh_interpreter(script) == ["0", "False", "1", "True", "3", "30"]


def test_processing_started_before_the_archive_ends_unused_without_creating_it(tmp_path):
    """`govbrief crawl` starts the processing process before it opens the archive; a crawl that never
    gets there (bad registry, crash) closes it: the child exits, no archive file appears."""
    from pipelines.process.beside import PROCESSING_NICENESS, Beside

    db = tmp_path / "archive.db"
    processing = Beside(db, workers=2)
    mine = os.getpriority(os.PRIO_PROCESS, 0)
    # below the crawl's priority (the reactor bounds the fetch rate)
    assert _wait_for_niceness(processing.pid, mine + PROCESSING_NICENESS) == min(19, mine + PROCESSING_NICENESS)
    processing.close()
    processing.close()  # idempotent
    assert processing._child.exitcode == 0
    assert not any(tmp_path.iterdir())


def test_processing_started_early_processes_once_told_the_archive_is_ready(tmp_path):
    from pipelines.process.beside import Beside

    db = tmp_path / "archive.db"
    processing = Beside(db, workers=2)
    time.sleep(1.0)  # the child has imported and started its pool, and waits
    assert not db.exists()
    with start_fault_web() as web:
        web.big_pages, web.per_page = 2, 10
        sources = web.write_sources(tmp_path / "sources.yml", faulty=False, trap=False, wide=False, big=True)
        captured = run_crawl(sources, db, "-s", "GOVBRIEF_PROCESS=0")
    assert captured.returncode == 0, captured.stdout + captured.stderr[-2000:]
    assert rows(db, "select count(*) n from captures where processed_at is null")[0]["n"] == 20
    done = threading.Event()
    done.set()  # capture has finished: process what waits, then stop
    stats = processing.wait(done)
    assert stats.captures == 20 and stats.total("articles_new") == 20
    assert rows(db, "select count(*) n from articles")[0]["n"] == 20
    assert rows(db, "select count(*) n from captures where processed_at is null")[0]["n"] == 0


def test_worker_warm_up_builds_what_the_first_extraction_would():
    """A worker's first task runs one page through processing, so the lazily built tables (the national
    place table, cn2an's patterns) exist before the crawl's first capture reaches it."""
    script = (
        "import sys\n"
        "from pipelines.process.worker import loaded\n"
        "from pipelines.facts.places import _table\n"
        "before = _table.cache_info().currsize, 'cn2an' in sys.modules\n"
        "assert loaded() > 0\n"
        "print(*before, _table.cache_info().currsize, 'cn2an' in sys.modules)\n"
    )
    assert fresh_interpreter(script) == ["0", "False", "1", "True"]


def test_workers_are_forked_warm_from_one_fork_server(tmp_path):
    """The extraction stack is loaded once, by the pool's fork server, not by each worker (nor by the
    process that owns the pool, which may hold the archive's connections and lock)."""
    from pipelines.process.runner import Processor
    from pipelines.process.worker import loaded

    processor = Processor(tmp_path / "archive.db", workers=2)
    try:
        pool = processor._pool_or_start()
        loaded_in = {f.result(timeout=120) for f in [pool.submit(loaded) for _ in range(6)]}
        workers = {f.result(timeout=120) for f in [pool.submit(os.getpid) for _ in range(6)]}
        # what a worker unpickles (its initializer, its tasks) brings none of the writer's side with it:
        # importing those cost each worker ~0.2 s of CPU at every start (pipelines/process/worker.py)
        writer_side = "sorted(__import__('sys').modules.keys() & {'sqlite_utils', 'numpy', " \
                      "'pipelines.process.runner', 'pipelines.store.storage'})"
        assert [f.result(timeout=120) for f in [pool.submit(eval, writer_side) for _ in range(4)]] == [[]] * 4
    finally:
        processor._close_pool(final=True)
    assert len(loaded_in) == 1 and not loaded_in & workers and os.getpid() not in loaded_in
    assert "pipelines.process.preload" not in sys.modules  # the owner never loaded it
    # done with workers, the owner stopped its fork server and reaped it: no zombie, and the workers'
    # CPU time is in the owner's accounting
    (server,) = loaded_in
    assert not Path(f"/proc/{server}").exists()


def test_workers_and_their_fork_server_exit_when_the_owner_is_killed(tmp_path):
    """kill -9 of the process that owns the pool (a crawl's processing process): its fork server and
    workers do not linger (they would hold memory and, for a cron job, pile up)."""
    script = (
        "import os, sys, time\n"
        "from multiprocessing import forkserver\n"
        "from pipelines.process.runner import Processor\n"
        f"processor = Processor({str(tmp_path / 'archive.db')!r}, workers=2)\n"
        "processor.start_workers()\n"
        "pool = processor._pool_or_start()\n"
        "[f.result(timeout=120) for f in [pool.submit(time.sleep, 0.3) for _ in range(4)]]\n"
        "server = forkserver._forkserver._forkserver_pid\n"
        "children = open(f'/proc/{server}/task/{server}/children').read().split()\n"
        "print(server, *children, flush=True)\n"
        "time.sleep(600)\n"
    )
    owner = subprocess.Popen([sys.executable, "-c", script], cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        pids = [int(p) for p in owner.stdout.readline().split()]
        assert len(pids) == 3, pids  # two workers and the fork server
        os.kill(owner.pid, 9)
        owner.wait(timeout=30)
        deadline = time.monotonic() + 20
        alive = pids
        while alive and time.monotonic() < deadline:
            time.sleep(0.2)
            alive = [pid for pid in alive if _running(pid)]
        assert not alive, f"still running after their owner was killed: {alive}"
    finally:
        owner.kill()


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"  # a zombie has exited (its parent, init, reaps it)


def test_attachment_text_is_processing_work_not_the_capture_paths(tmp_path):
    """The capture path only lists a file under its article (a PDF can take seconds of pure Python,
    which in the crawl's process would hold up every download): its text is extracted by processing,
    like an article's, and becomes searchable when the writer stores it."""
    from unseenweb import pdf_bytes

    from pipelines.attachments.store import record_attachment
    from pipelines.process.pending import count_waiting
    from pipelines.process.runner import Processor
    from pipelines.search.search_index import match_expression
    from pipelines.store import migrations, storage
    from pipelines.store.storage import Capture

    path = tmp_path / "archive.db"
    db = storage.open_db(path)
    migrations.ensure_schema(db)
    url = "http://www.example.gov.cn/files/plan.pdf"
    capture = Capture(url=url, final_url=url, status=200, headers={"Content-Type": "application/pdf"},
                      body=pdf_bytes("Project plan 2024 phase two"), fetched_at="2024-03-06T00:00:00Z",
                      source_id="example-gov")
    with db.conn:
        attachment_id = record_attachment(db, capture, article_url="http://www.example.gov.cn/xw/t1.html",
                                          link_text="项目计划表")
    listed = rows(path, "select kind, text from attachments where id = ?", [attachment_id])
    assert listed == [{"kind": "pdf", "text": None}] and count_waiting(db) == 1
    db.close()

    stats = Processor(path, workers=0).run()
    [row] = rows(path, "select text from attachments where id = ?", [attachment_id])
    assert "Project plan 2024" in row["text"]
    assert rows(path, "select rowid from attachments_search where attachments_search match ?",
                [match_expression("phase two")]) == [{"rowid": attachment_id}]
    assert dict(stats.by_source["example-gov"]) == {"attachment_texts": 1}  # no article counted, no failure
    assert rows(path, "select count(*) as n from captures where processed_at is null") == [{"n": 0}]
    assert rows(path, "select count(*) as n from fetch_errors") == [{"n": 0}]


ORDINARY_PAGE = ("<html><body><h1>某县召开项目推进会</h1><p>" + "会议部署了下一阶段的重点项目建设工作。" * 5
                 + "</p></body></html>")


def _archive_with_waiting_pages(path: Path, pages: dict[str, str]) -> None:
    """A new archive holding these article pages (URL -> HTML) as captures that wait for processing, each
    queued in the frontier of source a-gov."""
    from pipelines.store import frontier, migrations, storage
    from pipelines.store.storage import Capture

    db = storage.open_db(path)
    migrations.ensure_schema(db)
    with db.conn:
        for url, html in pages.items():
            frontier.queue(db, "a-gov", articles=[url])
            storage.insert_capture(db, Capture(url=url, final_url=url, status=200,
                                               headers={"Content-Type": "text/html; charset=utf-8"},
                                               body=html.encode("utf-8"), fetched_at="2024-03-06T00:00:00Z",
                                               source_id="a-gov"), kind="article")
    db.close()


def test_a_page_too_large_to_extract_is_recorded_with_its_reason(tmp_path):
    """A capture of more elements than the extraction reads: no article, the reason (count, limit, URL)
    in fetch_errors as a page without article text, its frontier row failed (looked at again on a
    backoff), the capture processed; an ordinary capture beside it is archived."""
    from pipelines.extract.article import MAX_ELEMENTS
    from pipelines.process.runner import Processor

    path = tmp_path / "archive.db"
    huge_url, fine_url = "http://www.a.gov.cn/xw/t20240305_1.html", "http://www.a.gov.cn/xw/t20240305_2.html"
    _archive_with_waiting_pages(path, {
        huge_url: "<html><body><h1>某县项目推进会</h1><p>" + "<span>项</span>" * (MAX_ELEMENTS + 10)
        + "</p></body></html>",
        fine_url: ORDINARY_PAGE})

    stats = Processor(path, workers=0).run()
    assert dict(stats.by_source["a-gov"]) == {"articles_new": 1, "articles_empty": 1}
    assert [r["url"] for r in rows(path, "select url from articles")] == [fine_url]
    [error] = rows(path, "select url, reason, category from fetch_errors")
    assert error == {"url": huge_url, "category": "no_article", "reason": f"page too large to extract: "
                     f"{MAX_ELEMENTS + 14:,} elements (at most {MAX_ELEMENTS:,}): {huge_url}"}
    assert rows(path, "select state from crawl_frontier where url = ?", [huge_url]) == [{"state": "failed"}]
    assert rows(path, "select count(*) as n from captures where processed_at is null") == [{"n": 0}]


def test_a_capture_over_its_cpu_budget_is_stopped_and_recorded_and_the_worker_goes_on(tmp_path):
    """A page whose processing takes more CPU than a worker allows a capture is stopped there, recorded
    with the reason and its URL (as a page without article text, looked at again on a backoff), and the
    same worker processes the next capture (here: a budget of 0.3 s against a page of 6,000 short blocks,
    ~2-5 s of CPU; an ordinary article costs ~10 ms)."""
    from pipelines.process.runner import Processor

    path = tmp_path / "archive.db"
    slow_url, fine_url = "http://www.a.gov.cn/xw/t20240305_1.html", "http://www.a.gov.cn/xw/t20240305_2.html"
    _archive_with_waiting_pages(path, {
        slow_url: "<html><body><h1>某县项目推进会</h1>" + "<div><p>会议部署了工作。</p></div>" * 6_000
        + "</body></html>",
        fine_url: ORDINARY_PAGE})

    stats = Processor(path, workers=1, page_cpu_seconds=0.3).run()
    assert dict(stats.by_source["a-gov"]) == {"articles_new": 1, "articles_empty": 1}
    assert [r["url"] for r in rows(path, "select url from articles")] == [fine_url]
    assert rows(path, "select url, reason, category from fetch_errors") == [{
        "url": slow_url, "category": "no_article",
        "reason": f"page too costly to process: more than 0.3 s of CPU: {slow_url}"}]
    assert rows(path, "select state from crawl_frontier where url = ?", [slow_url]) == [{"state": "failed"}]
    assert rows(path, "select count(*) as n from captures where processed_at is null") == [{"n": 0}]


def test_the_writer_tells_new_changed_and_unchanged_articles_apart(tmp_path):
    """store_processed on a real archive: a URL seen for the first time is created; the same result
    written again changes nothing; a new text, title or date of the same URL updates its one row and
    counts as changed (what `govbrief reextract` and a crawl's stats report), first_fetched kept."""
    from pipelines.process.tasks import ProcessedCapture
    from pipelines.process.write import store_processed
    from pipelines.store import migrations, storage

    db = storage.open_db(tmp_path / "archive.db", batches=True)
    migrations.ensure_schema(db)
    url = "http://www.a.gov.cn/xwzx/202403/t20240305_1.html"

    def write(capture_id: int, fetched_at: str, **article) -> tuple[bool, bool]:
        result = ProcessedCapture(capture_id=capture_id, url=url, final_url=url, status=200, headers={},
                                  fetched_at=fetched_at, source_id=None, run_id=None, host="www.a.gov.cn",
                                  article={"url": url, "title": "推进会", "text": "项目签约。",
                                           "published": "2024-03-05", **article})
        [written] = store_processed(db, [result], record_errors=False)
        return written.created, bool(written.changed)

    assert write(1, "2024-03-06T00:00:00Z") == (True, True)
    assert write(2, "2024-03-07T00:00:00Z") == (False, False)
    assert write(3, "2024-03-08T00:00:00Z", text="项目签约，总投资12亿元。") == (False, True)
    assert write(4, "2024-03-09T00:00:00Z", text="项目签约，总投资12亿元。", title="重大项目推进会") == (False, True)
    assert write(5, "2024-03-10T00:00:00Z", text="项目签约，总投资12亿元。", title="重大项目推进会",
                 published="2024-03-04") == (False, True)
    [row] = db.execute("select text, title, published, first_fetched, capture_id from articles").fetchall()
    assert row == ("项目签约，总投资12亿元。", "重大项目推进会", "2024-03-04", "2024-03-06T00:00:00Z", 5)
    db.close()
