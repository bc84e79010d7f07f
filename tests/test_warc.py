"""export_warc: a real archive in tmp_path -> WARC -> read back with warcio's own reader and checker."""

from __future__ import annotations

import base64
import gzip
import hashlib
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator
from warcio.checker import Checker

from pipelines.publish.warc import export_warc, warc_date
from pipelines.store import migrations, storage
from pipelines.store.storage import Capture

GBK_HTML = ("<html><head><meta charset='gbk'><title>项目推进会</title></head>"
            "<body><p>全区重大项目推进会召开。</p></body></html>")


def _captures() -> list[Capture]:
    return [
        Capture(url="http://www.example.gov.cn/xwzx/1.html", final_url="http://www.example.gov.cn/xwzx/1.html",
                status=200,
                # the server sent gzip + chunked; the stored body is already decoded
                headers={"Content-Type": "text/html; charset=utf-8", "Content-Encoding": "gzip",
                         "Transfer-Encoding": "chunked", "Content-Length": "123", "Server": "TRS"},
                body="<html><body><p>8月7日，兰山区重大项目推进会召开。</p></body></html>".encode(),
                fetched_at="2024-03-01T08:00:00Z", source_id="gov-a"),
        Capture(url="http://www.example.gov.cn/xwzx/2.html", final_url="http://www.example.gov.cn/xwzx/2.html",
                status=200, headers={"Content-Type": "text/html; charset=GBK"},
                body=GBK_HTML.encode("gbk"), fetched_at="2024-03-01T08:00:05Z", source_id="gov-a"),
        Capture(url="http://old.example.gov.cn/a?id=3", final_url="https://www.example.gov.cn/xwzx/3.html",
                status=200, headers={"Content-Type": "text/html"},
                body=b"<html><body>redirected</body></html>", fetched_at="2024-03-02T09:30:00+08:00",
                source_id="gov-a"),
        Capture(url="https://www.sohu.com/a/404", final_url="https://www.sohu.com/a/404", status=404,
                headers={"Content-Type": "text/html", "Set-Cookie": "a=1\r\nInjected: yes"},
                body=b"<html>not found</html>", fetched_at="2024-03-03T00:00:00Z", source_id="sohu"),
        Capture(url="https://www.sohu.com/a/empty", final_url="https://www.sohu.com/a/empty", status=304,
                headers={}, body=b"", fetched_at="2024-03-03T00:00:01Z", source_id="sohu"),
    ]


@pytest.fixture()
def archive(tmp_path: Path):
    db = storage.open_db(tmp_path / "archive.db")
    migrations.ensure_schema(db)
    ids = [storage.insert_capture(db, c) for c in _captures()]
    return db, ids


def _records(path: Path) -> list[dict]:
    """Every record, read to the end with digest checking on."""
    out = []
    with open(path, "rb") as fh:
        for rec in ArchiveIterator(fh, check_digests=True):
            payload = rec.content_stream().read()
            out.append({
                "type": rec.rec_type, "headers": rec.rec_headers, "http": rec.http_headers,
                "payload": payload, "digest_ok": rec.digest_checker.passed,
                "problems": list(rec.digest_checker.problems),
            })
    return out


def test_every_record_iterates_and_bodies_match(archive, tmp_path: Path) -> None:
    db, ids = archive
    out = tmp_path / "out" / "archive.warc.gz"
    counts = export_warc(db, str(out))
    assert counts["captures"] == 5 and counts["responses"] == 5 and counts["requests"] == 5
    assert counts["records"] == 1 + 3 * 5
    assert not (out.parent / (out.name + ".part")).exists()

    records = _records(out)
    assert len(records) == counts["records"]
    assert records[0]["type"] == "warcinfo"
    assert b"software: govbrief" in records[0]["payload"]
    assert [r["type"] for r in records[1:4]] == ["response", "request", "metadata"]

    stored = {row["id"]: storage.load_capture(row) for row in db.query("select * from captures")}
    responses = [r for r in records if r["type"] == "response"]
    by_uri = {r["headers"].get_header("WARC-Target-URI"): r for r in responses}
    for capture in stored.values():
        rec = by_uri[capture.final_url]
        assert rec["payload"] == capture.body  # byte for byte, GBK included
        assert rec["http"].get_statuscode() == str(capture.status)
        assert rec["http"].get_header("Content-Length") == str(len(capture.body))
        assert rec["headers"].get_header("WARC-Date") == warc_date(capture.fetched_at)
        # payload digest recomputed independently of warcio: sha1, base32
        expected = "sha1:" + base64.b32encode(hashlib.sha1(capture.body).digest()).decode()
        assert rec["headers"].get_header("WARC-Payload-Digest") == expected


def test_digests_verify_with_warcio(archive, tmp_path: Path) -> None:
    db, _ = archive
    out = tmp_path / "a.warc.gz"
    export_warc(db, str(out))
    records = _records(out)
    for rec in records:
        assert rec["problems"] == []
        if rec["type"] != "warcinfo":
            assert rec["digest_ok"] is True, rec["type"]

    class Cmd:  # what `warcio check` passes to its Checker
        inputs = [str(out)]
        verbose = False

    assert Checker(Cmd()).process_all() == 0


def test_headers_redirect_and_links(archive, tmp_path: Path) -> None:
    db, _ = archive
    out = tmp_path / "a.warc.gz"
    export_warc(db, str(out))
    records = _records(out)
    responses = {r["headers"].get_header("WARC-Record-ID"): r for r in records if r["type"] == "response"}

    first = next(r for r in responses.values()
                 if r["headers"].get_header("WARC-Target-URI").endswith("/xwzx/1.html"))
    http = first["http"]
    assert http.get_header("Content-Encoding") is None and http.get_header("Transfer-Encoding") is None
    assert http.get_header("X-Archive-Orig-Content-Encoding") == "gzip"
    assert http.get_header("X-Archive-Orig-Content-Length") == "123"
    assert http.get_header("Server") == "TRS"
    assert http.protocol == "HTTP/1.1" and http.statusline == "200 OK"

    not_found = next(r for r in responses.values() if r["http"].get_statuscode() == "404")
    assert not_found["http"].statusline == "404 Not Found"
    # a CR/LF stored inside a header value must not become a header of its own
    assert not_found["http"].get_header("Injected") is None

    for rec in records:
        if rec["type"] in ("request", "metadata"):
            assert rec["headers"].get_header("WARC-Concurrent-To") in responses

    requests = [r for r in records if r["type"] == "request"]
    assert all(r["http"].protocol == "GET" for r in requests)
    assert all(r["http"].get_header("User-Agent", "").startswith("govbrief") for r in requests)

    # redirect: records target the URL that answered; the requested URL is in the metadata record
    redirected = [r for r in records if r["type"] == "metadata" and b"redirected: yes" in r["payload"]]
    assert len(redirected) == 1
    meta = redirected[0]
    assert meta["headers"].get_header("WARC-Target-URI") == "https://www.example.gov.cn/xwzx/3.html"
    assert b"requested-url: http://old.example.gov.cn/a?id=3" in meta["payload"]
    target = responses[meta["headers"].get_header("WARC-Concurrent-To")]
    assert target["headers"].get_header("WARC-Target-URI") == "https://www.example.gov.cn/xwzx/3.html"
    assert target["headers"].get_header("WARC-Date") == "2024-03-02T01:30:00Z"  # +08:00 -> UTC
    req = next(r for r in requests if r["headers"].get_header("WARC-Target-URI").endswith("/xwzx/3.html"))
    assert req["http"].get_header("Host") == "www.example.gov.cn"
    assert req["http"].protocol == "GET" and "/xwzx/3.html" in req["http"].statusline


def test_source_filter_and_undated(archive, tmp_path: Path) -> None:
    db, _ = archive
    out = tmp_path / "sohu.warc.gz"
    counts = export_warc(db, str(out), source_id="sohu")
    assert counts["captures"] == 2
    uris = {r["headers"].get_header("WARC-Target-URI") for r in _records(out) if r["type"] == "response"}
    assert uris == {"https://www.sohu.com/a/404", "https://www.sohu.com/a/empty"}

    db["captures"].insert({"url": "http://x.gov.cn/", "final_url": "http://x.gov.cn/", "status": 200,
                           "headers": "{}", "body": gzip.compress(b"x"), "body_encoding": "gzip",
                           "fetched_at": None, "source_id": "sohu"})
    counts = export_warc(db, str(out), source_id="sohu")
    assert counts["captures"] == 2 and counts["skipped_undated"] == 1
    assert len(_records(out)) == 1 + 3 * 2


def test_warc_date() -> None:
    assert warc_date("2024-03-01T08:00:00Z") == "2024-03-01T08:00:00Z"
    assert warc_date("2024-03-01 08:00:00") == "2024-03-01T08:00:00Z"
    assert warc_date("2024-03-01T08:00:00+08:00") == "2024-03-01T00:00:00Z"
    assert warc_date("yesterday") is None and warc_date(None) is None
