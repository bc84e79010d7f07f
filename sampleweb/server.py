"""Serve the sample web: one HTTP server per site on 127.0.0.1, each on its own ephemeral port.

Separate ports (not virtual hosts) because a crawl scope is host:port, so every site is a
different origin exactly like distinct government domains, with no DNS or /etc/hosts tricks.

URL -> file mapping (site root = sites/<site-id>/):
  /                                -> index.html; any path ending in "/" -> <dir>/index.html
  /dir (a directory, no slash)     -> dir/index.html (served directly, no redirect)
  /a/560123456_121106832           -> a/560123456_121106832.html (extensionless Sohu-style URLs)
  /col/col1229/index.html?uid=1234&pageNum=N
                                   -> col/col1229/index.html for N=1, index_pageNumN.html for N>=2,
                                      404 when that page does not exist (Hanweb pagination)
  any other query string           -> ignored, the file is served (as static web servers do)
  city-trs /calendar/?month=YYYY-MM[&day=D]
                                   -> generated on the fly for ANY month: an infinite link trap
  anything else                    -> 404 with a small HTML error page

Every body has `__SITE_<id>__` replaced by that site's base URL (ASCII, so GBK bytes are safe).
county-gbk deliberately sends `charset=utf-8` for its GBK article pages and no charset at all for
its other pages, like the misconfigured servers the decoder has to survive.
"""

from __future__ import annotations

import hashlib
import re
import sys
import threading
import time
from dataclasses import dataclass, field
from email.utils import formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from urllib.parse import parse_qs, unquote, urlsplit

from sampleweb.layout import SITE_IDS, SITES_DIR, SOURCES_TEMPLATE

PLACEHOLDER = re.compile(rb"__SITE_([a-z0-9-]+)__")
PLACEHOLDER_TEXT = re.compile(r"__SITE_([a-z0-9-]+)__")

# A fixed Last-Modified keeps responses reproducible; conditional requests still work against it.
LAST_MODIFIED_TS = 1680508800  # 2023-04-03 08:00:00 GMT
LAST_MODIFIED = formatdate(LAST_MODIFIED_TS, usegmt=True)

# What each site claims to run: the crawler should not care, but real logs look like this.
SERVER_SOFTWARE = {"city-trs": "TRS WCM/7.0", "district-hanweb": "Apache-Coyote/1.1",
                   "farm-repost": "nginx", "county-gbk": "Microsoft-IIS/6.0"}

_TYPES = {".html": "text/html; charset=utf-8", ".htm": "text/html; charset=utf-8",
          ".txt": "text/plain; charset=utf-8", ".css": "text/css", ".js": "application/javascript",
          ".gif": "image/gif", ".json": "application/json"}
_FEED_TYPES = {"rss.xml": "application/rss+xml; charset=utf-8",
               "atom.xml": "application/atom+xml; charset=utf-8"}

_NOT_FOUND = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>404 页面不存在</title></head>
<body style="text-align:center;font-family:sans-serif;padding-top:80px">
<h1>404</h1><p>抱歉，您访问的页面不存在或已被删除。</p>
<p><a href="/">返回首页</a></p>
<hr><p style="color:#999;font-size:12px">{server}</p>
</body></html>
"""


@dataclass(frozen=True)
class RequestRecord:
    """One request as the server saw it, for tests that check politeness and scope."""

    site: str
    method: str
    path: str  # including the query string, as sent
    headers: dict[str, str]
    status: int
    time: float = field(default=0.0, compare=False)

    @property
    def user_agent(self) -> str | None:
        return next((v for k, v in self.headers.items() if k.lower() == "user-agent"), None)


def content_type(site: str, rel_path: str) -> str:
    """The Content-Type header a site sends for one of its files (wrong on purpose for county-gbk)."""
    name = rel_path.rsplit("/", 1)[-1]
    suffix = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if suffix in (".html", ".htm") and site == "county-gbk":
        # GBK bytes everywhere; article pages claim UTF-8, the rest name no charset at all.
        return "text/html; charset=utf-8" if rel_path.startswith("news/20") else "text/html"
    if suffix == ".xml":
        return _FEED_TYPES.get(name, "application/xml; charset=utf-8")
    return _TYPES.get(suffix, "application/octet-stream")


def _calendar_month(query: dict[str, list[str]]) -> tuple[int, int, int | None]:
    month = (query.get("month") or ["2023-01"])[0]
    m = re.fullmatch(r"(\d{4})-(\d{1,2})", month)
    year, mon = (int(m.group(1)), int(m.group(2))) if m else (2023, 1)
    if not (1 <= year <= 9999 and 1 <= mon <= 12):
        year, mon = 2023, 1
    day_text = (query.get("day") or [""])[0]
    day = int(day_text) if day_text.isdigit() and 1 <= int(day_text) <= 31 else None
    return year, mon, day


class _SiteServer(ThreadingHTTPServer):
    daemon_threads = True  # a stuck client must never keep the test process alive
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], site: str, web: SampleWeb):
        self.site = site
        self.web = web
        self.root = SITES_DIR / site
        super().__init__(address, _Handler)

    def handle_error(self, request: object, client_address: object) -> None:
        # socketserver would print a traceback to stderr; a client hanging up early is normal
        # for a crawler (timeouts, cancelled requests), anything else is kept for the tests.
        exc = sys.exc_info()[1]
        if exc is not None and not isinstance(exc, ConnectionError):
            self.web._error(self.site, exc)


class _Handler(BaseHTTPRequestHandler):
    server: _SiteServer
    protocol_version = "HTTP/1.0"  # one request per connection: no idle keep-alive threads at stop()

    def version_string(self) -> str:
        return SERVER_SOFTWARE.get(self.server.site, "nginx")

    def log_message(self, format: str, *args: object) -> None:
        pass  # silent: the request log is self.server.web.requests, not stderr

    def do_GET(self) -> None:
        self._serve_safely(send_body=True)

    def do_HEAD(self) -> None:
        self._serve_safely(send_body=False)

    def do_POST(self) -> None:
        # Forms and Hanweb's dataproxy.jsp are not part of the sample web.
        self._respond(405, b"", "text/plain; charset=utf-8", send_body=True, extra={"Allow": "GET, HEAD"})

    # ------------------------------------------------------------------------------------------

    def _resolve(self) -> tuple[bytes, str, bool] | None:
        """(body, content type, static) for the request path, or None for 404."""
        site, root = self.server.site, self.server.root
        parts = urlsplit(self.path)
        path = unquote(parts.path) or "/"
        query = parse_qs(parts.query, keep_blank_values=True)

        if site == "city-trs" and path in ("/calendar", "/calendar/", "/calendar/index.html"):
            from sampleweb.build_sites import render_calendar  # the generator owns the chrome

            year, month, day = _calendar_month(query)
            return render_calendar(year, month, day).encode("utf-8"), "text/html; charset=utf-8", False

        segments = [s for s in path.split("/") if s]
        if any(s in (".", "..") or s.startswith(".") for s in segments):
            return None  # no traversal, no dotfiles
        rel = "/".join(segments)
        target = root / rel if rel else root
        if path.endswith("/") or target.is_dir():
            target = target / "index.html"
            rel = (rel + "/index.html").lstrip("/")
        if "pageNum" in query and target.name == "index.html":
            page = query["pageNum"][0]
            if not page.isdigit() or int(page) < 1:
                return None
            if int(page) > 1:
                target = target.with_name(f"index_pageNum{int(page)}.html")
                rel = rel[: -len("index.html")] + target.name
        if not target.is_file() and "." not in target.name:
            target = target.with_name(target.name + ".html")  # extensionless article URLs
            rel += ".html"
        if not target.is_file():
            return None
        return target.read_bytes(), content_type(site, rel), True

    def _serve_safely(self, send_body: bool) -> None:
        try:
            self._serve(send_body)
        except ConnectionError:
            raise  # the client went away; handle_error ignores it
        except Exception as exc:  # a bug in the sample web: answer 500 and keep it for the tests
            self.server.web._error(self.server.site, exc)
            self._respond(500, b"internal error\n", "text/plain; charset=utf-8", send_body)

    def _serve(self, send_body: bool) -> None:
        resolved = self._resolve()
        if resolved is None:
            body = _NOT_FOUND.format(server=self.version_string()).encode("utf-8")
            self._respond(404, body, "text/html; charset=utf-8", send_body)
            return
        raw, ctype, static = resolved
        body = self.server.web.substitute(raw)
        etag = '"' + hashlib.sha1(body).hexdigest() + '"'
        headers = {"ETag": etag}
        if static:
            headers["Last-Modified"] = LAST_MODIFIED
        if self._not_modified(etag, static):
            self._respond(304, b"", None, send_body=False, extra=headers)
            return
        self._respond(200, body, ctype, send_body, extra=headers)

    def _not_modified(self, etag: str, static: bool) -> bool:
        inm = self.headers.get("If-None-Match")
        if inm is not None:  # If-None-Match wins over If-Modified-Since (RFC 9110)
            tags = {t.strip().removeprefix("W/") for t in inm.split(",")}
            return etag in tags or "*" in tags
        ims = self.headers.get("If-Modified-Since")
        if ims and static:
            try:
                return parsedate_to_datetime(ims).timestamp() >= LAST_MODIFIED_TS
            except (TypeError, ValueError):
                return False
        return False

    def _respond(self, status: int, body: bytes, ctype: str | None, send_body: bool,
                 extra: dict[str, str] | None = None) -> None:
        self.server.web._record(self.server.site, self.command, self.path, dict(self.headers.items()), status)
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        if status != 304:
            self.send_header("Content-Length", str(len(body)))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if send_body and body and status != 304:
            self.wfile.write(body)


class SampleWeb:
    """The running sample web. Use `start_sample_web()`; stop with `.stop()` or a `with` block."""

    def __init__(self, host: str = "127.0.0.1", base_port: int = 0):
        self.host = host
        self._lock = threading.Lock()
        self._requests: list[RequestRecord] = []
        self._errors: list[tuple[str, BaseException]] = []
        self._servers: dict[str, _SiteServer] = {}
        self._threads: dict[str, threading.Thread] = {}
        self.base_urls: dict[str, str] = {}
        try:
            for i, site in enumerate(SITE_IDS):
                server = _SiteServer((host, base_port + i if base_port else 0), site, self)
                self._servers[site] = server
                port = server.server_address[1]
                shown = f"[{host}]" if ":" in host else host
                self.base_urls[site] = f"http://{shown}:{port}"
        except OSError:
            self._close_servers()
            raise
        self._replacements = {site.encode(): url.encode() for site, url in self.base_urls.items()}

    def _start(self) -> SampleWeb:
        for site, server in self._servers.items():
            thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                                      name=f"sampleweb-{site}", daemon=True)
            thread.start()
            self._threads[site] = thread
        return self

    # -- URLs and placeholders -----------------------------------------------------------------

    def url(self, site: str, path: str = "/") -> str:
        """Absolute URL of a path on a site: url("city-trs", "/xwzx/xmjs/index.html")."""
        if site not in self.base_urls:
            raise KeyError(f"unknown sample site {site!r}; known: {', '.join(self.base_urls)}")
        return self.base_urls[site] + (path if path.startswith("/") else "/" + path)

    def site_of(self, url: str) -> str | None:
        """The site id serving a URL, or None for anything outside the sample web."""
        netloc = urlsplit(url).netloc
        return next((s for s, base in self.base_urls.items() if urlsplit(base).netloc == netloc), None)

    def substitute(self, data: bytes) -> bytes:
        """Replace every `__SITE_<id>__` with that site's base URL (unknown ids are left alone)."""
        return PLACEHOLDER.sub(lambda m: self._replacements.get(m.group(1), m.group(0)), data)

    def render_sources(self, template_path: str | Path | None = None) -> str:
        """The sources registry YAML (default: the bundled sources.yml) with real base URLs."""
        text = Path(template_path or SOURCES_TEMPLATE).read_text(encoding="utf-8")
        return PLACEHOLDER_TEXT.sub(lambda m: self.base_urls.get(m.group(1), m.group(0)), text)

    def write_sources(self, path: str | Path, template_path: str | Path | None = None) -> Path:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(self.render_sources(template_path), encoding="utf-8")
        return target

    # -- request log ----------------------------------------------------------------------------

    def _record(self, site: str, method: str, path: str, headers: dict[str, str], status: int) -> None:
        with self._lock:
            self._requests.append(RequestRecord(site, method, path, headers, status, time.time()))

    @property
    def requests(self) -> list[RequestRecord]:
        """A snapshot of every request so far, in arrival order (safe to iterate while serving)."""
        with self._lock:
            return list(self._requests)

    def _error(self, site: str, exc: BaseException) -> None:
        with self._lock:
            self._errors.append((site, exc))

    @property
    def errors(self) -> list[tuple[str, BaseException]]:
        """(site, exception) for every request the server failed on; empty unless it has a bug."""
        with self._lock:
            return list(self._errors)

    def requests_for(self, site: str) -> list[RequestRecord]:
        return [r for r in self.requests if r.site == site]

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    # -- lifecycle ------------------------------------------------------------------------------

    def _close_servers(self) -> None:
        for server in self._servers.values():
            server.server_close()

    def stop(self) -> None:
        """Stop every site server and wait for the serving threads (idempotent)."""
        for site, thread in self._threads.items():
            if thread.is_alive():
                self._servers[site].shutdown()  # blocks until serve_forever returns
            thread.join(timeout=5)
        self._threads.clear()
        self._close_servers()

    def __enter__(self) -> SampleWeb:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"SampleWeb({self.base_urls!r})"


def start_sample_web(host: str = "127.0.0.1", base_port: int = 0) -> SampleWeb:
    """Start every sample site (ports ephemeral unless base_port is given) and return the handle."""
    return SampleWeb(host, base_port)._start()
