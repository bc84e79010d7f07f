"""One URL identity everywhere: pipelines.urls.canonical_url (w3lib) and migration 12 for older archives."""

from __future__ import annotations

from pipelines.store import migrations, storage
from pipelines.urls import canonical_url


def test_spellings_of_one_page_share_one_key():
    same = ["http://a.gov.cn/新闻/t1.html?q=项目", "http://a.gov.cn/%e6%96%b0%e9%97%bb/t1.html?q=%E9%A1%B9%E7%9B%AE",
            "HTTP://A.GOV.CN:80/%E6%96%B0%E9%97%BB/t1.html?q=%e9%a1%b9%e7%9b%ae#top"]
    assert len({canonical_url(u) for u in same}) == 1
    assert canonical_url("https://a.gov.cn:443/list.jsp?cur=2&channel=5") == \
        canonical_url("https://a.gov.cn/list.jsp?channel=5&cur=2") == "https://a.gov.cn/list.jsp?channel=5&cur=2"
    assert canonical_url("http://a.gov.cn") == "http://a.gov.cn/"


def test_distinct_pages_stay_distinct():
    keys = {canonical_url(f"http://a.gov.cn/list.jsp?cur={n}&channel=5") for n in range(1, 6)}
    assert len(keys) == 5
    assert canonical_url("http://a.gov.cn:8080/x.html") != canonical_url("http://a.gov.cn/x.html")
    # paths are case-sensitive
    assert canonical_url("http://a.gov.cn/X.html") != canonical_url("http://a.gov.cn/x.html")


def test_migration_rekeys_older_archives(tmp_path):
    db = storage.open_db(tmp_path / "archive.db")
    storage.ensure_schema(db)
    old = "http://a.gov.cn/show.asp?id=7&cat=2"
    with db.conn:
        db["articles"].insert({"url": old, "title": "t", "text": "x"})
        db["articles"].insert({"url": "http://a.gov.cn/x.html?b=1&a=1", "title": "dup", "text": "y"})
        db["articles"].insert({"url": "http://a.gov.cn/x.html?a=1&b=1", "title": "kept", "text": "z"})
        db["captures"].insert({"url": old, "final_url": old, "status": 200})
        db.execute("insert into crawl_frontier (source_id, url, kind, depth, added_at, state) values"
                   " ('s', ?, 'article', 0, 'now', 'done')", [old])
        db.execute("PRAGMA user_version = 11")
    assert 12 in migrations.migrate(db)
    new = "http://a.gov.cn/show.asp?cat=2&id=7"
    assert [r["url"] for r in db.query("select url from articles order by id")] == [
        new, "http://a.gov.cn/x.html?b=1&a=1", "http://a.gov.cn/x.html?a=1&b=1"]  # never merged by the migration
    assert [r["url"] for r in db.query("select url from captures")] == [new]
    assert [r["url"] for r in db.query("select url from crawl_frontier")] == [new]
    db.close()
