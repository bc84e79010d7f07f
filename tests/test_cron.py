"""Cron ergonomics, as a new user meets them: the log folder, one summary line per run whatever the
outcome, exit statuses of their own for crashes and unwritable logs, a lock no path trick gets round,
and a readable log (no banner, no DNS tracebacks)."""

from __future__ import annotations

import logging
import os

import pytest
from faultserver import start_fault_web
from support import rows, run_crawl

from crawler.logs import BANNER_LOGGERS, quiet_scrapy_logging
from govbrief.lock import LockHeld, RunLock


@pytest.fixture(scope="module")
def web():
    with start_fault_web() as fault_web:
        fault_web.big_pages, fault_web.per_page = 2, 3
        yield fault_web


def summary_lines(log) -> list[str]:
    return [line for line in log.read_text(encoding="utf-8").splitlines() if "govbrief crawl finished:" in line]


def test_log_folder_created_and_one_summary_line_per_run(web, tmp_path):
    sources = web.write_sources(tmp_path / "sources.yml", faulty=False, trap=False, wide=False, big=True)
    log = tmp_path / "logs" / "crawl.log"
    result = run_crawl(sources, tmp_path / "archive.db", "--log-file", str(log))
    assert result.returncode == 0, result.stderr[-2000:]
    [line] = summary_lines(log)
    assert "exit 0 (ok)" in line and "new articles 6" in line and "new failures 0" in line
    text = log.read_text(encoding="utf-8")
    assert "Overridden settings" not in text and "Enabled downloader middlewares" not in text
    assert len(text.splitlines()) < 20, text


def test_refused_overlapping_run_is_in_the_log(web, tmp_path):
    sources = web.write_sources(tmp_path / "sources.yml", faulty=False, trap=False, wide=False, big=True)
    db, log = tmp_path / "archive.db", tmp_path / "logs" / "crawl.log"
    with RunLock.for_archive(str(db)).acquire():
        result = run_crawl(sources, db, "--log-file", str(log))
    assert result.returncode == 75
    [line] = summary_lines(log)
    assert "exit 75 (locked)" in line and "another govbrief run holds" in line


def test_lock_follows_the_archive_through_symlinks_and_hard_links(web, tmp_path):
    sources = web.write_sources(tmp_path / "sources.yml", faulty=False, trap=False, wide=False, big=True)
    db = tmp_path / "real" / "archive.db"
    db.parent.mkdir()
    assert run_crawl(sources, db).returncode == 0
    (tmp_path / "link.db").symlink_to(db)
    os.link(db, tmp_path / "hard.db")
    with RunLock.for_archive(str(db)).acquire():
        for other in (tmp_path / "link.db", tmp_path / "hard.db", tmp_path / "real" / ".." / "real" / "archive.db"):
            result = run_crawl(sources, other)
            assert result.returncode == 75, (other, result.stderr[-500:])
        with pytest.raises(LockHeld):
            RunLock.for_archive(str(tmp_path / "hard.db")).acquire()
    assert rows(db, "select count(*) n from crawl_runs") == [{"n": 1}]


def test_crash_has_its_own_exit_status_and_keeps_the_traceback(web, tmp_path):
    sources = web.write_sources(tmp_path / "sources.yml", faulty=False, trap=False, wide=False, big=True)
    log = tmp_path / "crawl.log"
    result = run_crawl(sources, tmp_path / "archive.db", "--log-file", str(log), "-s", "CONCURRENT_REQUESTS=many")
    assert result.returncode == 70, result.stderr[-1000:]
    assert "crawl crashed" in result.stderr and "Traceback" not in result.stderr
    assert "Traceback" in log.read_text(encoding="utf-8")
    [line] = summary_lines(log)
    assert "exit 70 (crashed)" in line


def test_unwritable_log_has_its_own_exit_status(web, tmp_path):
    sources = web.write_sources(tmp_path / "sources.yml", faulty=False, trap=False, wide=False, big=True)
    (tmp_path / "afile").write_text("x")
    result = run_crawl(sources, tmp_path / "archive.db", "--log-file", str(tmp_path / "afile" / "crawl.log"))
    assert result.returncode == 73
    assert result.stderr.count("\n") == 1 and "cannot write the log file" in result.stderr
    assert not (tmp_path / "archive.db").exists()


def test_dns_failure_is_one_line_without_traceback(tmp_path):
    sources = tmp_path / "sources.yml"
    sources.write_text("sources:\n  - {id: gone, name: 已停用, region: 测试, "
                       "start_urls: ['http://www.no-such-site.invalid/index.html']}\n", encoding="utf-8")
    log = tmp_path / "crawl.log"
    result = run_crawl(sources, tmp_path / "archive.db", "--log-file", str(log), "-s", "DNS_TIMEOUT=5",
                       "-s", "RETRY_TIMES=0")
    assert result.returncode == 1
    text = log.read_text(encoding="utf-8")
    assert "Traceback" not in text
    assert "no-such-site.invalid" in text and "exit 1 (unhealthy)" in summary_lines(log)[0]


@pytest.mark.parametrize("level", ["INFO", "WARNING", "DEBUG"])
def test_scrapy_builds_no_records_below_the_runs_level(level):
    """Scrapy leaves its loggers at NOTSET and drops DEBUG at the handler, after building a record per
    response and item; a run's level is set on the `scrapy` logger, so none is built (DEBUG runs keep all)."""
    touched = [logging.getLogger(name) for name in ("scrapy", *BANNER_LOGGERS)]
    before = [logger.level for logger in touched]
    try:
        quiet_scrapy_logging(getattr(logging, level))
        per_response = logging.getLogger("scrapy.core.engine")  # "Crawled (200) <GET …>" is DEBUG here
        per_item = logging.getLogger("scrapy.core.scraper")  # "Scraped from <200 …>"
        wanted = level == "DEBUG"
        assert per_response.isEnabledFor(logging.DEBUG) is wanted
        assert per_item.isEnabledFor(logging.DEBUG) is wanted
        assert per_item.isEnabledFor(logging.WARNING)  # problems are always logged
    finally:
        for logger, was in zip(touched, before, strict=True):
            logger.setLevel(was)


def test_lineage_starts_while_processing_drains(web, tmp_path):
    """The crawl's lineage starts in a thread when the spider closes, before the crawl waits for
    processing to drain (logged after that wait), not after it, on the run's single-core tail."""
    sources = web.write_sources(tmp_path / "sources.yml", faulty=False, trap=False, wide=False, big=True)
    log = tmp_path / "crawl.log"
    result = run_crawl(sources, tmp_path / "archive.db", "--log-file", str(log), "--log-level", "DEBUG")
    assert result.returncode == 0, result.stderr[-2000:]
    lines = log.read_text(encoding="utf-8").splitlines()
    preload = [n for n, line in enumerate(lines) if "clustering reposts while processing drains" in line]
    drained = [n for n, line in enumerate(lines) if "capture: " in line and "processing: " in line]
    assert len(preload) == 1 and len(drained) == 1 and preload[0] < drained[0]
