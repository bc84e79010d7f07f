"""In what order a crawl asks for pages: a column's articles before the rest of its pager, and no
host waiting for another's articles.

A TRS-style column names every page of its pager on the first one. Were those list pages fetched first,
a backlog's whole pager would be read before its first article (processing idle meanwhile, and an
interrupted run left with the oldest articles instead of the newest). Articles go first; across hosts,
the scheduler takes turns (crawler/settings.py SCHEDULER_PRIORITY_QUEUE), else one source's article
backlog would hold every other source's list pages back until it is done. One request at a time makes
the servers' log the crawl's order. Real `govbrief crawl` over real HTTP on 127.0.0.1 and 127.0.0.2.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from support import run_crawl

PAGES = 6  # list pages of the column
PER_PAGE = 4  # articles a list page
MULTIPAGE = "/xw/202405/t20240501_1.html"  # the first page's first article, in three pages


def _list_page(number: int) -> str:
    links = "".join(f'<li><a href="./202405/t20240501_{(number - 1) * PER_PAGE + k}.html">重点项目推进情况{k}</a>'
                    f"<span>2024-05-01</span></li>" for k in range(1, PER_PAGE + 1))
    pager = "".join(f'<a href="{"index" if n == 1 else f"index_{n - 1}"}.html">{n}</a> ' for n in range(1, PAGES + 1))
    return f"<html><body><ul>{links}</ul><div>共{PAGES}页 {pager}</div></body></html>"


def _article(path: str) -> str:
    stem = MULTIPAGE.rsplit("/", 1)[1].removesuffix(".html")
    pager = ""
    if path.rsplit("/", 1)[1].startswith(stem):  # t20240501_1.html, t20240501_1_1.html, t20240501_1_2.html
        pager = f'<div>共3页 <a href="{stem}_1.html">2</a> <a href="{stem}_2.html">3</a></div>'
    text = "".join(f"<p>全市重点项目第{k}段：项目投资进展顺利，开工建设按计划推进。</p>" for k in range(8))
    return (f"<html><head><title>重点项目推进情况</title></head><body><h1>重点项目推进情况</h1>"
            f"<div>发布时间：2024-05-01</div><div class='content'>{text}</div>{pager}</body></html>")


class _Column(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the stdlib's name)
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server API)
        path = self.path.split("?")[0]
        if path == "/xw/index.html" or path.startswith("/xw/index_") and path != "/xw/index_0.html":
            body, status = _list_page(1 if path == "/xw/index.html" else int(path[10:-5]) + 1), 200
        elif path.startswith("/xw/202405/t"):
            body, status = _article(path), 200
        else:
            body, status = "not found", 404
        self.server.log.append((self.server.server_address[0], path, status))
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _serve(host: str, log: list) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer((host, 0), _Column)
    server.log = log
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def column() -> Iterator[ThreadingHTTPServer]:
    server = _serve("127.0.0.1", [])
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def _sources(path, servers: list[ThreadingHTTPServer]):
    path.write_text("sources:\n" + "".join(f"""  - id: order{k}
    name: 测试{k}市人民政府
    region: 江苏省泰兴市
    start_urls: [http://{s.server_address[0]}:{s.server_address[1]}/xw/index.html]
""" for k, s in enumerate(servers)), encoding="utf-8")
    return path


def test_a_columns_articles_are_fetched_before_the_rest_of_its_pager(column, tmp_path):
    sources = _sources(tmp_path / "sources.yml", [column])
    result = run_crawl(sources, tmp_path / "archive.db", "-s", "CONCURRENT_REQUESTS=1", "--no-lineage")
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    # pages that exist (the pager rules may also try a guessed index_0.html: a 404 here)
    order = [path for _, path, status in column.log if status == 200]
    lists = [p for p in order if p.startswith("/xw/index")]
    articles = [p for p in order if p.startswith("/xw/202405/")]
    assert len(lists) == PAGES and len(articles) == PAGES * PER_PAGE + 2  # every page, the two later parts
    first_page = {f"/xw/202405/t20240501_{k}.html" for k in range(1, PER_PAGE + 1)}
    parts = {"/xw/202405/t20240501_1_1.html", "/xw/202405/t20240501_1_2.html"}
    # the first list page's articles before any other list page; the multi-page one's later pages right
    # after it (each is asked for once the page before it is read: one request later, at most)
    assert first_page <= set(order[:order.index(lists[1])]), order
    assert parts <= set(order[:order.index(lists[2])]), order


def test_no_host_waits_for_another_hosts_articles(tmp_path):
    log: list = []
    servers = [_serve("127.0.0.1", log), _serve("127.0.0.2", log)]
    try:
        sources = _sources(tmp_path / "sources.yml", servers)
        result = run_crawl(sources, tmp_path / "archive.db", "-s", "CONCURRENT_REQUESTS=1", "--no-lineage")
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    order = [host for host, path, status in log if status == 200]
    per_host = PAGES * (PER_PAGE + 1) + 2
    assert order.count("127.0.0.1") == order.count("127.0.0.2") == per_host
    # taking turns: each host has about half of the first half (a host whose list pages waited for the
    # other's articles would have none of it)
    first_half = order[:per_host]
    assert min(first_half.count("127.0.0.1"), first_half.count("127.0.0.2")) >= per_host // 3, order
