"""Security: the crawler only reaches what its sources allow; Datasette is read-only and bounded.

No request is ever sent to 169.254.169.254 or 10.x here (this machine's network forbids it): those
are unit tests of the decisions (crawler.scope.scope_refusal, the SafeResolver check). End to end,
a redirect to 127.0.0.2 (tests/test_faults.py) and a source whose host NAME resolves to loopback
(below) are refused before anything is sent.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from faultserver import start_fault_web  # noqa: E402

from crawler.middlewares import SafeResolver, resolved_address_refusal  # noqa: E402
from crawler.scope import Scope, scope_refusal  # noqa: E402
from pipelines.store import migrations, storage  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SCOPE = Scope(frozenset({"www.a.gov.cn", "127.0.0.1:8080"}), frozenset({"b.gov.cn"}))


@pytest.mark.parametrize("url", [
    "http://169.254.169.254/latest/meta-data/",  # cloud metadata
    "http://169.254.169.254:80/computeMetadata/v1/",
    "http://10.0.0.1/", "http://10.255.1.2:8080/admin", "http://192.168.1.1/", "http://172.16.0.1/",
    "http://2852039166/",  # 169.254.169.254 as one decimal number
    "http://0xa9fea9fe/", "http://0251.0376.0251.0376/", "http://10.1/",  # hex, octal, short forms
    "http://[::1]/", "http://[::ffff:10.0.0.1]/", "http://[::ffff:169.254.169.254]/", "http://[fe80::1]/",
    "http://127.0.0.2:8080/", "http://0.0.0.0:8080/", "http://localhost.b.gov.cn.10.0.0.1/",
])
def test_private_link_local_and_loopback_addresses_refused(url):
    reason = scope_refusal(url, SCOPE)
    assert reason and ("private, loopback or link-local" in reason or "not one of the source's origins" in reason)


def test_allowed_domain_does_not_open_private_literals():
    scope = Scope(frozenset({"www.a.gov.cn"}), frozenset({"10.0.0.1", "a.gov.cn"}))
    assert "private" in scope_refusal("http://10.0.0.1/", scope)
    assert scope_refusal("http://news.a.gov.cn/x.html", scope) is None


def test_redirect_targets_outside_scope_refused():
    for url in ("file:///etc/passwd", "ftp://www.a.gov.cn/", "gopher://www.a.gov.cn/", "javascript:alert(1)",
                "http://www.a.gov.cn.evil.com/", "http://evil.com/?www.a.gov.cn", "http://user@evil.com/"):
        assert scope_refusal(url, SCOPE), url
    assert scope_refusal("http://www.a.gov.cn/x.html", SCOPE) is None
    assert scope_refusal("http://127.0.0.1:8080/x.html", SCOPE) is None  # named by the source


@pytest.mark.parametrize(("name", "address", "refused"), [
    ("www.a.gov.cn", "169.254.169.254", True),
    ("www.a.gov.cn", "10.20.30.40", True),
    ("rebind.example", "127.0.0.1", True),
    ("www.a.gov.cn", "202.102.1.1", False),
    ("127.0.0.1", "127.0.0.1", False),  # a literal: the URL scope check already decided
    ("intranet.a.gov.cn", "10.0.0.5", False),  # listed in GOVBRIEF_PRIVATE_HOSTS below
])
def test_dns_resolution_to_private_addresses_refused(name, address, refused):
    reason = resolved_address_refusal(name, address, frozenset({"intranet.a.gov.cn"}))
    assert bool(reason) is refused


def test_safe_resolver_check_raises_for_private_answers():
    from twisted.internet.error import DNSLookupError

    resolver = SafeResolver.__new__(SafeResolver)  # the check alone: no reactor, no lookup
    resolver.allowed = set()
    assert resolver._check("202.102.1.1", "www.a.gov.cn") == "202.102.1.1"
    with pytest.raises(DNSLookupError, match="resolves to 169.254.169.254"):
        resolver._check("169.254.169.254", "metadata.a.gov.cn")


def test_host_name_resolving_to_loopback_is_never_requested(tmp_path):
    """End to end: `localhost` (resolved from /etc/hosts, no DNS traffic) is loopback, named by no
    source as an address: the crawl refuses it at resolution time and the server sees nothing."""
    with start_fault_web() as web:
        sources = tmp_path / "sources.yml"
        sources.write_text(f"""sources:
  - id: rebind
    name: 解析到本机
    region: 测试
    start_urls: [http://localhost:{web.port}/list.html]
""", encoding="utf-8")
        db = tmp_path / "archive.db"
        result = subprocess.run([sys.executable, "-m", "govbrief", "crawl", "--sources", str(sources), "--db", str(db),
                                 "--delay", "0", "-s", "RETRY_TIMES=0"], cwd=REPO, capture_output=True, text=True,
                                timeout=120, env={**os.environ})
        assert web.hits == [] and web.intruder_hits == []
    assert result.returncode == 1, result.stdout
    conn = sqlite3.connect(db)
    reasons = [r[0] for r in conn.execute("select reason from fetch_errors")]
    conn.close()
    assert any("resolves to 127.0.0.1" in r for r in reasons), reasons


# ---------------------------------------------------------------- Datasette


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> Path:
    """An archive with 1,500 articles (more than max_returned_rows), written directly."""
    db_path = tmp_path_factory.mktemp("publish") / "archive.db"
    db = storage.open_db(db_path)
    migrations.ensure_schema(db)
    for n in range(1500):
        row = storage.article_row({"url": f"http://a.gov.cn/{n}.html", "title": f"项目{n}", "text": "项目建设" * 20,
                                   "published": "2024-01-01"}, source_id="a", region="测试", capture_id=None,
                                  fetched_at="2024-01-02T00:00:00Z")
        storage.upsert_article(db, row)
    db.close()
    return db_path


def get(db_path: Path, path: str):
    """In trusted mode (--allow-sql): custom SQL must still be read-only and bounded. The public
    default refuses custom SQL outright (tests/test_public_server.py)."""
    from pipelines.publish.serve import make_datasette

    datasette = make_datasette(str(db_path), allow_sql=True)

    async def fetch():
        return await datasette.client.get(path)

    return asyncio.run(fetch())


@pytest.mark.parametrize("sql", ["update articles set title = 'x'", "delete from articles",
                                 "drop table articles", "insert into articles (url) values ('x')",
                                 "attach database '/tmp/x.db' as x", "pragma journal_mode = delete"])
def test_datasette_refuses_writes(published, sql):
    from urllib.parse import quote

    response = get(published, "/archive.json?sql=" + quote(sql))
    assert response.status_code in (400, 403), response.text[:300]
    conn = sqlite3.connect(published)
    assert conn.execute("select count(*) from articles where title = 'x'").fetchone()[0] == 0
    assert conn.execute("select count(*) from articles").fetchone()[0] == 1500
    conn.close()


def test_datasette_sql_time_limit(published):
    from urllib.parse import quote

    endless = ("with recursive c(x) as (select 1 union all select x + 1 from c) "
               "select count(*) from c")
    response = get(published, "/archive.json?sql=" + quote(endless))
    assert response.status_code == 400 and "interrupted" in response.text.lower()


def test_datasette_exports_are_bounded(published):
    from pipelines.publish.serve import SETTINGS

    response = get(published, "/archive/articles.json?_shape=array&_size=max")
    assert response.status_code == 200 and len(response.json()) == SETTINGS["max_returned_rows"] == 1000
    response = get(published, "/archive.json?_shape=array&sql=select+*+from+articles")
    assert len(response.json()) <= SETTINGS["max_returned_rows"]
    assert SETTINGS["allow_download"] is False and SETTINGS["max_csv_mb"] <= 100
    assert get(published, "/archive.db").status_code in (403, 404)
