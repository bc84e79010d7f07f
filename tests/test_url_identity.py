"""One URL identity everywhere: pipelines.urls.canonical_url (w3lib) and migration 12 for older archives."""

from __future__ import annotations

from urllib.parse import urljoin

from pipelines.store import migrations, storage
from pipelines.urls import canonical_url, join_url


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
    migrations.ensure_schema(db)
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


def test_join_url_is_urljoin():
    """The fast paths for list-page links give urljoin's very string, including where urljoin does work
    the fast path must leave to it: dot segments, '//' (urljoin drops empty segments), params, query,
    fragment, escapes, other schemes, relative bases, links naming a host (or an empty one)."""
    bases = ["http://h", "http://h/", "http://H.gov.cn:80/a/b/index_5.html", "https://h/a/b/", "http://h/a//b/c.html",
             "http://h/a/./b/c.html", "http://h/a/../b/c.html", "http://h/a/b;jsessionid=1", "http://h/a/b;p=1/c",
             "http://h/a/b.html?x=1#f", "http://h/a/b/.", "http://h/a/b/..", "http://h/.well-known/x", "h/a/b.html",
             "/a/b.html", "http://h/%E6%96%B0/a.html", "http://h/新闻/a.html", "http://h/a/b.html#", "ftp://h/a/b",
             "http://user@h:8080/a/", "http://h/a/b.html?", "http://h/a/./", ""]
    hrefs = ["index_7.html", "./index_7.html", "a/b.html", "/x/y.html", "/x/y/", "/", "", ".", "..", "./", "../a.html",
             "a/../b.html", "a/./b.html", "a//b.html", "//other/x", "?page=2", "#top", "a.html?x=1", "a.html#f",
             "http://o/a.html", "javascript:void(0)", "a b.html", "新闻.html", "%E6.html", "a;p.html", ".hidden",
             "a/.hidden/b", "-x.html", "_x.html", "x.", "/x/../y", "t20240305_1.shtml", "A/B/C.HTML", "./a/", "a/",
             # links naming their host (the fast path keyed on the base's scheme only), and ones that only look so
             "https://o", "HTTP://O/X", "https://o/a/../b;p?q#f", "//o?x", "http://[::1]:80/x", "http://", "//",
             "https:", "http:relative", "ftp://o/x"]
    for base in bases:
        for href in hrefs:
            assert join_url(base, href) == urljoin(base, href), (base, href)
