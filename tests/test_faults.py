"""The fault matrix end to end: real `govbrief crawl` runs against tests/faultserver.py.

Run 1 meets every fault; then the transient faults heal and run 2 must pick up what failed.
For each fault: the run finishes in bounded time and memory, the healthy pages are archived, the
failure is in fetch_errors with its reason, and the exit status says whether the run was healthy.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from faultserver import FAULTS, HEALTHY, TRANSIENT, FaultWeb, start_fault_web  # noqa: E402
from support import rows, run_crawl  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
# Short timeouts so a slow server costs seconds, not minutes; same code paths as production.
FAST = ["-s", "DOWNLOAD_TIMEOUT=2", "-s", "RETRY_TIMES=1", "-s", "GOVBRIEF_RETRY_AFTER_MAX=2",
        "-s", "GOVBRIEF_RETRY_BACKOFF=0.1"]
RUN_LIMIT_S = 45  # "bounded time": one run over every fault, far below the subprocess timeout
MEMORY_LIMIT_MB = 400  # "bounded memory": a 50 MB page and a 100 MB gzip bomb must not be held


def crawl(sources: Path, db: Path, *extra: str, timeout: int = 120) -> tuple[subprocess.CompletedProcess, float]:
    started = time.monotonic()
    result = run_crawl(sources, db, *FAST, *extra, timeout=timeout)
    return result, time.monotonic() - started


def peak_memory_mb(stderr: str) -> float:
    """Scrapy's MemoryUsage extension measures the process's peak RSS; the run's last log line says it."""
    match = re.search(r"peak memory ([\d.]+) MB", stderr)
    assert match, "no peak memory in the crawl log"
    return float(match.group(1))


@pytest.fixture(scope="module")
def faults(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("faults")
    with start_fault_web() as web:
        sources, db = web.write_sources(tmp / "sources.yml"), tmp / "archive.db"
        first, first_s = crawl(sources, db)
        first_hits = web.hit_counts()
        web.healed = True
        second, second_s = crawl(sources, db)
        yield {"web": web, "db": db, "first": first, "second": second, "first_s": first_s,
               "second_s": second_s, "first_hits": first_hits, "second_hits": web.hit_counts() - first_hits}


def errors(faults, run_id: int) -> dict[str, dict]:
    web: FaultWeb = faults["web"]
    found = rows(faults["db"], "select * from fetch_errors where run_id = ?", [run_id])
    return {r["url"].replace(web.url(""), ""): r for r in found}


def archived(faults) -> set[str]:
    web: FaultWeb = faults["web"]
    return {r["url"].replace(web.url(""), "") for r in rows(faults["db"], "select url from articles")}


def test_runs_finish_in_bounded_time_and_memory(faults):
    for run in ("first", "second"):
        assert faults[f"{run}_s"] < RUN_LIMIT_S, (run, faults[f"{run}_s"])
        assert peak_memory_mb(faults[run].stderr) < MEMORY_LIMIT_MB
        assert "Traceback" not in faults[run].stderr, faults[run].stderr[-3000:]


def test_healthy_pages_archived_despite_faults(faults):
    got = archived(faults)
    for name in HEALTHY:
        assert f"/a/{name}.html" in got
    assert "/a/503-retry-after.html" in got  # Retry-After: 1 honoured within the run


def test_retry_after_is_waited_for(faults):
    times = faults["web"].times("/a/503-retry-after.html")
    assert len(times) >= 2 and times[1] - times[0] >= 0.9


# fault -> (substring of the recorded reason in run 1, recorded status)
EXPECTED_REASONS = {
    "500": ("HTTP 500", 500),
    "503": ("HTTP 503", 503),
    "503-retry-long": ("Retry-After 3600 s exceeds the 2 s cap", 503),
    "reset": ("ConnectionLost", None),
    "timeout": ("took longer than 2.0 seconds", None),
    "drip": ("took longer than 2.0 seconds", None),
    "truncated": ("truncated body", None),
    "huge": ("larger than download max size", None),
    "huge-stream": ("DOWNLOAD_MAXSIZE", None),
    "gzip-bomb": ("exceeded DOWNLOAD_MAXSIZE", None),
    "loop": ("max redirections reached", None),
    "offhost": ("refused: out of scope (address 127.0.0.2", None),
    "scheme": ("redirect not followed: file:///etc/passwd", 302),
    "binary": ("no article text", 200),
    "challenge-412": ("anti-bot challenge page (ruishu)", 412),
    "challenge-521": ("anti-bot challenge page", 521),
}


def test_every_fault_recorded_with_its_reason(faults):
    assert set(EXPECTED_REASONS) == set(FAULTS) - {"503-retry-after"}
    recorded = errors(faults, 1)
    for name, (reason, status) in EXPECTED_REASONS.items():
        row = recorded.get(f"/a/{name}.html")
        assert row, f"{name}: not in fetch_errors"
        assert reason in row["reason"], (name, row["reason"])
        assert row["status"] == status and row["kind"] == "article" and row["source_id"] == "faulty"
    assert "/a/503-retry-after.html" not in recorded
    assert "refused: forbidden by robots.txt" in recorded["/private/a/secret.html"]["reason"]
    assert "unreadable sitemap" in recorded["/sitemap.xml"]["reason"]
    assert "unreadable or empty feed" in recorded["/feed.xml"]["reason"]


def test_robots_and_other_hosts_never_requested(faults):
    web: FaultWeb = faults["web"]
    assert web.intruder_hits == []  # the redirect to 127.0.0.2 was refused before it was sent
    assert web.count("/private/a/secret.html") == 0


def test_exit_status_tells_cron(faults):
    first, second = faults["first"], faults["second"]
    assert first.returncode == 1, first.stdout
    # neither the refused redirect (our decision) nor the binary page (fetched fine, no text) counts
    failed = len(EXPECTED_REASONS) - 2
    assert re.search(rf"faulty: {failed} of \d+ article fetches failed", first.stdout)
    assert "trap" not in first.stdout.split("unhealthy:")[1] and "wide:" not in first.stdout
    assert second.returncode == 0, second.stdout  # the permanent faults alone stay under 50 %
    [run1, run2] = rows(faults["db"], "select status, exit_status from crawl_runs order by id")
    assert (run1["status"], run1["exit_status"], run2["status"], run2["exit_status"]) == ("unhealthy", 1, "ok", 0)


def test_failed_urls_retried_and_archived_next_run(faults):
    got = archived(faults)
    for name in TRANSIENT:
        assert f"/a/{name}.html" in got, name
        assert faults["second_hits"][f"/a/{name}.html"] >= 1
    for name in set(FAULTS) - TRANSIENT - {"503-retry-after", "binary"}:
        assert f"/a/{name}.html" not in got
    # what failed for good is recorded again, and never archived as an article
    assert {"/a/huge.html", "/a/gzip-bomb.html", "/a/loop.html"} <= set(errors(faults, 2))


def test_pagination_trap_bounded_and_resumed(faults):
    first, second = faults["first_hits"], faults["second_hits"]
    trap_lists = lambda hits: sorted(p for p in hits if p.startswith("/trap/list_"))  # noqa: E731
    assert len(trap_lists(first)) == 8  # max_pages: 8
    assert len(trap_lists(second)) == 8 and "/trap/list_9.html" in second  # the next run goes on
    assert len([u for u in archived(faults) if u.startswith("/trap/a/")]) == 15


def test_list_of_ten_thousand_articles_worked_off_in_batches(faults):
    first, second = faults["first_hits"], faults["second_hits"]
    assert len([p for p in first if p.startswith("/wide/a/")]) == 30  # max_articles: 30
    assert len([p for p in second if p.startswith("/wide/a/")]) == 30
    wide = [u for u in archived(faults) if u.startswith("/wide/a/")]
    assert len(wide) == len(set(wide)) == 60
    [stats] = rows(faults["db"], "select stats from crawl_runs where id = 1")
    assert '"article_budget_exhausted": 9970' in stats["stats"]
