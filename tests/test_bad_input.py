"""Bad configuration and a hostile environment: clear messages, non-zero exits, nothing archived lost.

Malformed sources file, unknown keys, bad URLs, a missing directory, a directory as database, a
read-only archive, a corrupt archive (garbage and a damaged page) and a full disk (RLIMIT_FSIZE:
the kernel refuses writes beyond the limit, which SQLite reports as it would a full disk).
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from faultserver import start_fault_web  # noqa: E402
from support import copy_archive, run_crawl  # noqa: E402

from pipelines.store import storage  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SOURCE = """sources:
  - id: city-a
    name: 某市
    region: 测试
    start_urls: [http://127.0.0.1:9/list.html]
"""


def crawl(sources: Path, db: Path, *extra: str, preexec=None) -> subprocess.CompletedProcess:
    return run_crawl(sources, db, "-s", "DOWNLOAD_TIMEOUT=2", "-s", "RETRY_TIMES=0", *extra, timeout=120,
                     preexec=preexec)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def web():
    with start_fault_web() as fault_web:
        yield fault_web


@pytest.fixture(scope="module")
def archive(web, tmp_path_factory) -> Path:
    """A healthy archive of 30 articles to damage (copied per test)."""
    tmp = tmp_path_factory.mktemp("bad-input")
    sources, db = web.write_sources(tmp / "sources.yml", faulty=False, trap=False), tmp / "archive.db"
    result = crawl(sources, db)
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]
    return db


@pytest.mark.parametrize(("text", "expected"), [
    (SOURCE + "    max_artcles: 5\n", "sources[0] (id 'city-a').max_artcles: unknown field"),
    (SOURCE.replace("http://127.0.0.1:9/list.html", "javascript:alert(1)"), "start_urls[0]: not an absolute http"),
    (SOURCE.replace("http://127.0.0.1:9/list.html", "127.0.0.1/list.html"), "start_urls[0]: not an absolute http"),
    (SOURCE + "    max_articles: 0\n", "max_articles: must be at least 1"),
    ("sources:\n  - id: [unclosed\n", "line 3"),
    ("\x00\x01binary", "unacceptable character"),
])
def test_bad_sources_rejected_before_anything_is_written(tmp_path, text, expected):
    sources, db = tmp_path / "sources.yml", tmp_path / "archive.db"
    sources.write_text(text, encoding="utf-8")
    result = crawl(sources, db)
    assert result.returncode == 2
    assert str(sources) in result.stderr and expected in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert not db.exists()


def test_missing_directory_and_directory_as_database(tmp_path):
    sources = tmp_path / "sources.yml"
    sources.write_text(SOURCE, encoding="utf-8")
    result = crawl(sources, tmp_path / "no-such-dir" / "archive.db")
    assert result.returncode == 2 and "no-such-dir does not exist" in result.stderr
    (tmp_path / "adir").mkdir()
    result = crawl(sources, tmp_path / "adir")
    assert result.returncode == 2 and "is a directory" in result.stderr


def test_garbage_file_as_archive_is_refused_and_left_alone(tmp_path):
    sources, db = tmp_path / "sources.yml", tmp_path / "archive.db"
    sources.write_text(SOURCE, encoding="utf-8")
    db.write_bytes(b"these are not the pages you are looking for\n" * 100)
    before = digest(db)
    result = crawl(sources, db)
    assert result.returncode == 2
    assert "file is not a database" in result.stderr and "restore a backup" in result.stderr
    assert digest(db) == before


def test_damaged_archive_is_refused_before_fetching(archive, tmp_path, web):
    db = copy_archive(archive, tmp_path)
    conn = sqlite3.connect(db)
    [root] = conn.execute("select rootpage from sqlite_master where name = 'articles'").fetchone()
    page_size = conn.execute("pragma page_size").fetchone()[0]
    conn.close()
    with db.open("r+b") as handle:  # overwrite the articles table's root page with noise
        handle.seek((root - 1) * page_size + 8)
        handle.write(os.urandom(page_size - 16))
    before, hits = digest(db), len(web.hits)
    sources = web.write_sources(tmp_path / "sources.yml", faulty=False, trap=False)
    result = crawl(sources, db)
    assert result.returncode == 2, result.stdout + result.stderr[-2000:]
    assert "archive is corrupt" in result.stderr or "malformed" in result.stderr, result.stderr
    assert digest(db) == before and len(web.hits) == hits  # nothing fetched, nothing written


def _immutable(path: Path, on: bool) -> bool:
    flag = "+i" if on else "-i"
    return shutil.which("chattr") is not None and subprocess.run(["chattr", flag, str(path)],
                                                                 capture_output=True).returncode == 0


def test_read_only_archive_is_refused_and_kept(archive, tmp_path, web):
    db = copy_archive(archive, tmp_path)
    before = digest(db)
    if os.geteuid() == 0:  # root ignores permission bits: make the file immutable instead
        if not _immutable(db, True):
            pytest.skip("running as root without chattr +i")
    else:
        db.chmod(0o444)
    try:
        sources = web.write_sources(tmp_path / "sources.yml", faulty=False, trap=False)
        result = crawl(sources, db)
    finally:
        if os.geteuid() == 0:
            _immutable(db, False)
    assert result.returncode == 2, result.stdout + result.stderr[-2000:]
    assert "not writable" in result.stderr and str(db) in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert digest(db) == before


def test_full_disk_stops_the_run_and_loses_nothing(archive, tmp_path, web):
    db = copy_archive(archive, tmp_path)
    before = {r[0] for r in sqlite3.connect(db).execute("select url from articles")}
    # The write-ahead log grows from zero: a file-size limit well under the archive's own size gives it
    # room for a few batches of captures, then "the disk is full" (the archive file itself is only
    # rewritten at a checkpoint, which fails the same way)
    limit = 384 * 1024

    def small_disk() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    sources = web.write_sources(tmp_path / "sources.yml", faulty=False, trap=False, wide=False, big=True)
    result = crawl(sources, db, preexec=small_disk)
    assert result.returncode == 74, result.stdout + result.stderr[-12000:]
    assert "cannot write the archive" in result.stderr and "disk" in result.stderr, result.stderr[-2000:]
    assert "everything archived before is kept" in result.stderr
    check = storage.open_db(db)
    assert storage.integrity_problems(check, quick=False) == []
    after = {r["url"] for r in check.query("select url from articles")}
    assert before <= after and len(after) < len(before) + len(web.big_urls())
    check.close()
    # with space again, the next run archives everything, each article once
    result = crawl(sources, db)
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]
    urls = [r[0] for r in sqlite3.connect(db).execute("select url from articles")]
    assert len(urls) == len(set(urls)) and set(web.big_urls()) | before == set(urls)


def govbrief_extract(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "govbrief", "extract", *args], input=stdin, capture_output=True,
                          cwd=REPO, timeout=60)


def test_extract_refuses_a_file_larger_than_a_page_without_reading_it(tmp_path):
    from crawler.settings import DOWNLOAD_MAXSIZE
    from pipelines.extract.article import MAX_PAGE_BYTES

    assert MAX_PAGE_BYTES == DOWNLOAD_MAXSIZE  # what the crawl would archive can be extracted
    big = tmp_path / "disk.img"
    with big.open("wb") as handle:  # sparse: 10 GB on the disk's accounting, nothing written
        handle.truncate(10 * 1024 ** 3)
    result = govbrief_extract(str(big))
    assert result.returncode == 2
    assert f"{big}: larger than 10 MB" in result.stderr.decode()
    result = govbrief_extract("-", stdin=b"x" * (MAX_PAGE_BYTES + 1))
    assert result.returncode == 2
    assert "standard input: larger than 10 MB" in result.stderr.decode()
    result = govbrief_extract(str(tmp_path))  # a directory: the reason, the name
    assert result.returncode == 2 and f"{tmp_path}: Is a directory" in result.stderr.decode()
    # in a manifest: that page's line says why, the other pages are extracted
    page = tmp_path / "page.html"
    page.write_text("<html><body><h1>某县召开项目推进会</h1><p>" + "会议部署了下一阶段的重点项目建设工作。" * 5
                    + "</p></body></html>", encoding="utf-8")
    manifest = tmp_path / "m.jsonl"
    manifest.write_text(json.dumps({"id": "big", "page": big.name, "url": "http://a/1.html"}) + "\n"
                        + json.dumps({"id": "ok", "page": page.name, "url": "http://a/2.html"}) + "\n")
    result = govbrief_extract("--manifest", str(manifest))
    assert result.returncode == 0
    big_row, ok_row = (json.loads(line) for line in result.stdout.decode().splitlines())
    assert big_row["id"] == "big" and f"{big}: larger than 10 MB" in big_row["error"]
    assert ok_row["id"] == "ok" and ok_row["title"] == "某县召开项目推进会"


def test_extract_refuses_a_page_of_too_many_elements_naming_it(tmp_path):
    """Ten megabytes of tiny elements cost a worker minutes and gigabytes: a page of more than
    MAX_ELEMENTS is refused at once with the count and the limit, alone or in a manifest."""
    import lxml.html

    from pipelines.extract.article import MAX_ELEMENTS, PageRefused, refuse_huge

    def spans(n: int) -> str:  # n elements in all: html, body, p and the spans
        return "<html><body><p>" + "<span>项</span>" * (n - 3) + "</p></body></html>"

    refuse_huge(lxml.html.fromstring(spans(MAX_ELEMENTS)))  # at the limit: read
    with pytest.raises(PageRefused, match=f"{MAX_ELEMENTS + 1:,} elements"):
        refuse_huge(lxml.html.fromstring(spans(MAX_ELEMENTS + 1)))

    page = tmp_path / "spans.html"
    page.write_text(spans(200_000), encoding="utf-8")
    result = govbrief_extract(str(page))
    assert result.returncode == 1
    error = json.loads(result.stdout)["error"]
    assert error == f"page too large to extract: 200,000 elements (at most {MAX_ELEMENTS:,}): {page}"
    manifest = tmp_path / "m.jsonl"
    manifest.write_text(json.dumps({"id": "spans", "page": page.name, "url": "http://a/1.html"}) + "\n")
    [row] = (json.loads(line) for line in govbrief_extract("--manifest", str(manifest)).stdout.splitlines())
    assert row["id"] == "spans" and "page too large to extract: 200,000 elements" in row["error"]


def test_a_reader_that_stops_reading_ends_extract_quietly(tmp_path):
    """`govbrief extract page.html | head`: the status a shell gives such a program (141), no traceback."""
    page = tmp_path / "long.html"
    page.write_text("<html><body><h1>某县召开项目推进会</h1>" + "<p>会议部署了下一阶段的重点项目建设工作。</p>" * 20_000
                    + "</body></html>", encoding="utf-8")  # ~0.6 MB of JSON: more than a pipe holds
    proc = subprocess.Popen([sys.executable, "-m", "govbrief", "extract", str(page)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=REPO)
    assert proc.stdout.read(100).startswith(b"{")
    proc.stdout.close()  # the reader goes away
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr
