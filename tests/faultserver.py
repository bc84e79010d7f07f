"""A hostile web for the crawler: one HTTP server on 127.0.0.1 that misbehaves on purpose.

Used by tests/test_faults.py (the fault matrix), tests/test_crash.py, tests/test_readers.py and
bench/kill9.py, bench/readers.py. Offline and deterministic (seeded bytes, fixed pages); the only
clock-dependent faults (timeout, slow drip) are bounded by the crawler's DOWNLOAD_TIMEOUT.

Paths (ARTICLE_PATTERN "/a/" marks articles, so discovery rules are not what is tested here):
  /robots.txt                 disallows /private/
  /list.html                  the "faulty" source's list: healthy articles + one link per fault
  /a/ok-N.html                healthy articles (N = 1..5)
  /a/<fault>.html             see FAULTS; transient faults heal when `web.healed` is set
  /private/a/secret.html      robots.txt-disallowed article (must never be requested)
  /sitemap.xml, /feed.xml     malformed sitemap and feed
  /trap/list_N.html           infinite pagination: every page has a new article and a "下一页" link
  /wide/list.html             one list page linking WIDE_ARTICLES articles /wide/a/N.html
  /big/list_N.html            a healthy paginated column: BIG_PAGES pages x PER_PAGE articles
                              /big/a/N.html (the kill -9 and reader benchmarks crawl it)
A second server (the "intruder", 127.0.0.2 by default) records any request it gets: no source
names it, so the crawler must never reach it, also not through the redirect /a/offhost.html.
"""

from __future__ import annotations

import random
import socket
import struct
import threading
import time
import zlib
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

ARTICLE_PATTERN = r"/a/[\w-]+\.html$"
HEALTHY = [f"ok-{n}" for n in range(1, 6)]
# fault name -> what it does (the fault matrix in docs/reliability.md follows this table)
FAULTS: dict[str, str] = {
    "500": "HTTP 500 on every request until healed",
    "503": "HTTP 503 without Retry-After until healed",
    "503-retry-after": "HTTP 503 with Retry-After: 1 on the first request, then the article",
    "503-retry-long": "HTTP 503 with Retry-After: 3600 until healed",
    "reset": "TCP connection reset after reading the request, until healed",
    "timeout": "accepts, never answers, until healed",
    "drip": "headers, then one byte every 0.2 s (slow drip), until healed",
    "truncated": "Content-Length 20000, sends 300 bytes and closes, until healed",
    "huge": "a 50 MB page with Content-Length",
    "huge-stream": "a 50 MB page without Content-Length, streamed",
    "gzip-bomb": "100 KB of gzip that inflates to 100 MB, Content-Encoding: gzip",
    "loop": "redirect loop /a/loop.html -> /a/loop-2.html -> /a/loop.html ...",
    "offhost": "302 to the intruder server (another loopback address, named by no source)",
    "scheme": "302 to file:///etc/passwd",
    "binary": "20 KB of random bytes served as text/html; charset=utf-8",
    "challenge-412": "HTTP 412 with a 瑞数-style JavaScript challenge body",
    "challenge-521": "HTTP 521 with a 加速乐-style cookie-setting script",
}
TRANSIENT = {"500", "503", "503-retry-long", "reset", "timeout", "drip", "truncated"}
WIDE_ARTICLES = 10_000
HUGE = 50 * 1024 * 1024
BOMB = 100 * 1024 * 1024


@lru_cache(maxsize=1)
def gzip_bomb() -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)  # wbits 31: gzip container
    chunk = b" " * (1 << 20)
    return b"".join(compressor.compress(chunk) for _ in range(BOMB >> 20)) + compressor.flush()


def article_html(key: str, day: int = 1) -> bytes:
    """A plain government article page that the extractor accepts (title, date, body)."""
    title = f"关于{key}项目建设进展情况的通报"
    paragraph = (f"为加快推进{key}重点项目建设，全市各相关部门认真落实工作责任，倒排工期、挂图作战，"
                 "确保项目早开工、早投产、早见效。截至目前，项目累计完成投资十二亿元，占年度计划的百分之六十五。")
    body = "".join(f"<p>{paragraph}（{i}）</p>" for i in range(1, 5))
    return (f"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{title}</title>"
            f"<meta name=\"PubDate\" content=\"2024-03-{day % 28 + 1:02d} 09:00\"></head><body>"
            f"<div class=\"nav\"><a href=\"/list.html\">首页</a></div>"
            f"<div class=\"article\"><h1>{title}</h1><div class=\"info\">发布时间：2024-03-{day % 28 + 1:02d}"
            f" 来源：市发展改革委</div>{body}</div></body></html>").encode()


def list_html(links: list[tuple[str, str]], next_url: str | None = None) -> bytes:
    items = "".join(f'<li><a href="{href}">{text}</a><span>2024-03-01</span></li>' for href, text in links)
    pager = f'<div class="page"><a href="{next_url}">下一页</a></div>' if next_url else ""
    return (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>项目建设</title></head><body>'
            f'<ul class="list">{items}</ul>{pager}</body></html>').encode()


@dataclass
class Hit:
    path: str
    time: float
    host: str


@dataclass
class FaultWeb:
    """Handle of the running servers; `url(path)` builds absolute URLs."""

    host: str
    port: int
    intruder_host: str
    intruder_port: int
    healed: bool = False
    latency: float = 0.0  # seconds added to every /big/ answer (benchmarks: a crawl that takes a while)
    big_pages: int = 10
    per_page: int = 20
    big_fail_pages: set[int] = field(default_factory=set)  # /big/list_N.html pages answering 503 for now
    hits: list[Hit] = field(default_factory=list)
    intruder_hits: list[Hit] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _servers: list[ThreadingHTTPServer] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    @property
    def intruder_url(self) -> str:
        return f"http://{self.intruder_host}:{self.intruder_port}/a/stolen.html"

    def count(self, path: str) -> int:
        with self.lock:
            return sum(1 for h in self.hits if h.path == path)

    def times(self, path: str) -> list[float]:
        with self.lock:
            return [h.time for h in self.hits if h.path == path]

    def hit_counts(self) -> Counter:
        with self.lock:
            return Counter(h.path for h in self.hits)

    def big_urls(self) -> list[str]:
        return [self.url(f"/big/a/{n}.html") for n in range(1, self.big_pages * self.per_page + 1)]

    def sources_yaml(self, *, faulty: bool = True, trap: bool = True, wide: bool = True, big: bool = False,
                     extra: str = "") -> str:
        """A registry for these servers (the intruder is deliberately named by no source)."""
        parts = ["sources:\n"]
        if faulty:
            parts.append(f"""  - id: faulty
    name: 故障网站
    region: 测试
    start_urls: [{self.url('/list.html')}]
    sitemap_urls: [{self.url('/sitemap.xml')}]
    feed_urls: [{self.url('/feed.xml')}]
    article_url_pattern: '{ARTICLE_PATTERN}'
""")
        if trap:
            parts.append(f"""  - id: trap
    name: 无限翻页
    region: 测试
    start_urls: [{self.url('/trap/list_1.html')}]
    article_url_pattern: '{ARTICLE_PATTERN}'
    max_pages: 8
""")
        if wide:
            parts.append(f"""  - id: wide
    name: 一万篇
    region: 测试
    start_urls: [{self.url('/wide/list.html')}]
    article_url_pattern: '{ARTICLE_PATTERN}'
    max_articles: 30
""")
        if big:
            parts.append(f"""  - id: big
    name: 大栏目
    region: 测试
    start_urls: [{self.url('/big/list_1.html')}]
    article_url_pattern: '{ARTICLE_PATTERN}'
    max_pages: 1000
    max_articles: 100000
""")
        parts.append(extra)
        return "".join(parts)

    def write_sources(self, path: Path, **kwargs: bool) -> Path:
        path.write_text(self.sources_yaml(**kwargs), encoding="utf-8")
        return path

    def close(self) -> None:
        self.stop.set()
        for server in self._servers:
            server.shutdown()
            server.server_close()

    def __enter__(self) -> FaultWeb:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a handler stuck in a fault never keeps the test process alive
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], web: FaultWeb, intruder: bool):
        self.web = web
        self.intruder = intruder
        super().__init__(address, _Handler)

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients hanging up mid-fault (timeouts, size caps) are the point of this server


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.0"  # one request per connection: faults never poison a kept-alive socket

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server API)
        web = self.server.web
        path = urlsplit(self.path).path
        hit = Hit(path, time.monotonic(), self.headers.get("Host", ""))
        with web.lock:
            (web.intruder_hits if self.server.intruder else web.hits).append(hit)
        if self.server.intruder:
            return self._send(200, article_html("intruder"))
        try:
            self._route(web, path)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            pass

    # ------------------------------------------------------------------ routing

    def _route(self, web: FaultWeb, path: str) -> None:
        if path == "/robots.txt":
            return self._send(200, b"User-agent: *\nDisallow: /private/\n", "text/plain")
        if path == "/list.html":
            links = [(f"/a/{name}.html", f"正常文章{name}") for name in HEALTHY]
            links += [(f"/a/{name}.html", f"故障{name}") for name in FAULTS]
            links.append(("/private/a/secret.html", "内部文件"))
            return self._send(200, list_html(links))
        if path == "/sitemap.xml":  # not XML at all (a truncated one is read as far as it goes)
            return self._send(200, b"\x00\x01\x02 sitemap? <<<\xff\xfe", "application/xml")
        if path == "/feed.xml":
            return self._send(200, b"<rss><channel><item><title>\xff\xfe broken", "application/rss+xml")
        if path.startswith("/trap/list_"):
            n = int(path.removeprefix("/trap/list_").removesuffix(".html") or 1)
            return self._send(200, list_html([(f"/trap/a/p{n}.html", f"陷阱文章{n}")], f"list_{n + 1}.html"))
        if path.startswith("/trap/a/"):
            return self._send(200, article_html(path, 3))
        if path == "/wide/list.html":
            return self._send(200, list_html([(f"/wide/a/{n}.html", f"文章{n}") for n in range(1, WIDE_ARTICLES + 1)]))
        if path.startswith("/wide/a/"):
            return self._send(200, article_html(path, 5))
        if path.startswith("/big/"):
            return self._big(web, path)
        if path.startswith("/a/ok-"):
            return self._send(200, article_html(path, int(path[6:7] or 1)))
        if path.startswith("/a/"):
            return self._fault(web, path.removeprefix("/a/").removesuffix(".html"))
        return self._send(404, "<html><body><h1>404 页面不存在</h1></body></html>".encode())

    def _big(self, web: FaultWeb, path: str) -> None:
        if web.latency:
            web.stop.wait(web.latency)
        if path.startswith("/big/list_"):
            n = int(path.removeprefix("/big/list_").removesuffix(".html"))
            if n in web.big_fail_pages:
                return self._send(503, b"<html><body>Service Unavailable</body></html>")
            first = (n - 1) * web.per_page + 1
            links = [(f"/big/a/{k}.html", f"大栏目文章{k}") for k in range(first, first + web.per_page)]
            return self._send(200, list_html(links, f"list_{n + 1}.html" if n < web.big_pages else None))
        return self._send(200, article_html(path, int(path.removeprefix("/big/a/").removesuffix(".html"))))

    def _fault(self, web: FaultWeb, name: str) -> None:  # noqa: PLR0911, PLR0912 (one branch per fault)
        if name in TRANSIENT and web.healed:
            return self._send(200, article_html(name))
        if name == "500":
            return self._send(500, b"<html><body>Internal Server Error</body></html>")
        if name == "503":
            return self._send(503, b"<html><body>Service Unavailable</body></html>")
        if name == "503-retry-after":
            if web.count("/a/503-retry-after.html") <= 1:
                return self._send(503, b"busy", headers={"Retry-After": "1"})
            return self._send(200, article_html(name))
        if name == "503-retry-long":
            return self._send(503, b"come back later", headers={"Retry-After": "3600"})
        if name == "reset":
            # SO_LINGER 0: close() sends RST instead of FIN, i.e. "connection reset by peer"
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()
            return None
        if name == "timeout":
            web.stop.wait(30)  # longer than any test DOWNLOAD_TIMEOUT; ends at server shutdown
            return None
        if name == "drip":
            self._head(200, {"Content-Length": "100000"})
            for _ in range(300):
                if web.stop.wait(0.2):
                    break
                self.wfile.write(b"<")
                self.wfile.flush()
            return None
        if name == "truncated":
            self._head(200, {"Content-Length": "20000"})
            self.wfile.write(article_html(name)[:300])
            return None
        if name in ("huge", "huge-stream"):
            self._head(200, {"Content-Length": str(HUGE)} if name == "huge" else {})
            chunk = b"<p>" + b"x" * 65530 + b"</p>"
            for _ in range(HUGE // len(chunk)):
                if web.stop.is_set():
                    break
                self.wfile.write(chunk)  # BrokenPipeError once the crawler gives up: that ends it
            return None
        if name == "gzip-bomb":
            return self._send(200, gzip_bomb(), headers={"Content-Encoding": "gzip"})
        if name == "loop":
            return self._send(302, b"", headers={"Location": "/a/loop-2.html"})
        if name == "loop-2":
            return self._send(302, b"", headers={"Location": "/a/loop.html"})
        if name == "offhost":
            return self._send(302, b"", headers={"Location": web.intruder_url})
        if name == "scheme":
            return self._send(302, b"", headers={"Location": "file:///etc/passwd"})
        if name == "binary":
            return self._send(200, random.Random(7).randbytes(20_000))
        if name == "challenge-412":
            body = (b"<html><head><meta http-equiv='Content-Type' content='text/html; charset=utf-8'>"
                    b"<script type='text/javascript' r='m'>$_ts=window['$_ts'];if(!$_ts)$_ts={};$_ts.nsd=84210;"
                    b"$_ts.cd='qXrgrAlkqGqu';</script><script src='/4QbVtADbnLVIc/c.FxJzG50F.dfe1675.js'></script>"
                    b"</head><body></body></html>")
            return self._send(412, body)
        if name == "challenge-521":
            body = (b"<script>document.cookie=('_')+('_')+('jsl_clearance=1700000000.123|0|')+"
                    b"'abc%3D';location.href=location.pathname+location.search</script>")
            return self._send(521, body)
        return self._send(404, b"<html><body>404</body></html>")

    # ------------------------------------------------------------------ output

    def _head(self, status: int, headers: dict[str, str] | None = None,
              ctype: str = "text/html; charset=utf-8") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()

    def _send(self, status: int, body: bytes, ctype: str = "text/html; charset=utf-8",
              headers: dict[str, str] | None = None) -> None:
        self._head(status, {"Content-Length": str(len(body)), **(headers or {})}, ctype)
        self.wfile.write(body)


def start_fault_web(host: str = "127.0.0.1", intruder_host: str = "127.0.0.2") -> FaultWeb:
    """Start both servers on ephemeral ports; close() (or `with`) stops them."""
    web = FaultWeb(host, 0, intruder_host, 0)
    main = _Server((host, 0), web, intruder=False)
    intruder = _Server((intruder_host, 0), web, intruder=True)
    web.port, web.intruder_port = main.server_address[1], intruder.server_address[1]
    web._servers = [main, intruder]
    for server in web._servers:
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
    return web
