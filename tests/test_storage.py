"""The archive schema and its writes, on a real SQLite file."""

import gzip

from pipelines.store import storage
from pipelines.store.storage import Capture

GBK_PAGE = "<html>正文</html>".encode("gbk")


def make_capture(url="http://a.gov.cn/202301/t20230114_1.html", body=GBK_PAGE):
    return Capture(url=url, final_url=url, status=200, headers={"Content-Type": "text/html; charset=utf-8"},
                   body=body, fetched_at="2026-01-01T00:00:00Z", source_id="a")


def test_ensure_schema_is_idempotent_and_uses_wal(tmp_path):
    db = storage.open_db(tmp_path / "archive.db")
    storage.ensure_schema(db)
    tables = set(db.table_names())
    storage.ensure_schema(db)
    assert set(db.table_names()) == tables
    assert {"sources", "captures", "articles", "crawl_runs", "fetch_errors"} <= tables
    assert db.execute("pragma journal_mode").fetchone()[0] == "wal"


def test_capture_keeps_raw_bytes_compressed(tmp_path):
    db = storage.open_db(tmp_path / "archive.db")
    storage.ensure_schema(db)
    capture = make_capture()
    capture_id = storage.insert_capture(db, capture, run_id=7)
    row = db["captures"].get(capture_id)
    assert gzip.decompress(row["body"]) == capture.body  # GBK stays GBK
    assert row["sha256"] == capture.sha256 and row["content_type"] == "text/html; charset=utf-8"
    assert storage.load_capture(row).body == capture.body


def test_upsert_article_one_row_per_url_keeps_first_fetched(tmp_path):
    db = storage.open_db(tmp_path / "archive.db")
    storage.ensure_schema(db)
    article = {"url": "http://a.gov.cn/x.html", "title": "标题", "text": "正文一", "published": "2023-01-14"}
    row = storage.article_row(article, source_id="a", region="江苏", capture_id=1, fetched_at="2026-01-01T00:00:00Z")
    first_id, created = storage.upsert_article(db, row)
    assert created and row["published_year"] == 2023 and row["published_month"] == "2023-01"
    row2 = storage.article_row({**article, "text": "正文二"}, source_id="a", region="江苏", capture_id=2,
                               fetched_at="2026-02-01T00:00:00Z")
    second_id, created = storage.upsert_article(db, row2)
    assert (second_id, created) == (first_id, False)
    [stored] = list(db.query("select * from articles"))
    assert stored["text"] == "正文二" and stored["first_fetched"] == "2026-01-01T00:00:00Z"
    assert stored["fetched_at"] == "2026-02-01T00:00:00Z" and stored["host"] == "a.gov.cn"


def test_failed_urls_are_retried_until_archived(tmp_path):
    db = storage.open_db(tmp_path / "archive.db")
    storage.ensure_schema(db)
    storage.record_fetch_errors(db, 1, [
        {"source_id": "a", "url": "http://a.gov.cn/1.html", "kind": "article", "reason": "HTTP 503", "status": 503},
        {"source_id": "a", "url": "http://a.gov.cn/list.html", "kind": "list", "reason": "HTTP 500", "status": 500},
    ])
    assert storage.failed_urls(db, "a") == {"http://a.gov.cn/1.html"}
    row = storage.article_row({"url": "http://a.gov.cn/1.html", "title": "t", "text": "x"}, source_id="a",
                              region=None, capture_id=None, fetched_at="2026-01-01T00:00:00Z")
    storage.upsert_article(db, row)
    assert storage.failed_urls(db, "a") == set()
