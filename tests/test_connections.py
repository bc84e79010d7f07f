"""Which connections the crawler keeps: never one the server said (by its HTTP version) it would close.

An HTTP/1.0 response without `Connection: keep-alive` ends its connection (RFC 7230 section 6.3), but
Twisted's client pools every connection whose response does not say `Connection: close`. Old portal
servers answer HTTP/1.0 and close without saying so; a request then sent on the pooled connection is
lost. A GET is tried again by Twisted on a fresh connection; a POST (the Hanweb jpage data proxy) is
not, and failed all of Scrapy's tries in ~1 of 20 crawls on a loaded machine. A server that closes at
once makes that a race; this one closes 0.5 s after its response, so the race is lost every time:
a request the crawler sends meanwhile arrives on a connection the server is closing, and is counted.
"""

from __future__ import annotations

import select
import socket
import sqlite3

import pytest
from support import run_crawl
from unseenweb import JPAGE_TOTAL, _Handler, jpage_article, start_unseen_web

from crawler.connections import server_keeps_connection

LINGER_S = 0.5


class _ClosesLazilyHandler(_Handler):
    """HTTP/1.0 without `Connection: close`, the socket closed LINGER_S after the response, as an old
    server busy elsewhere does; what arrives in between is recorded as ON-CLOSING and never answered."""

    says_close = False

    def finish(self) -> None:
        super().finish()  # the response is sent in full (Content-Length)
        readable, _, _ = select.select([self.connection], [], [], LINGER_S)
        if not readable:
            return
        try:
            late = self.connection.recv(200, socket.MSG_PEEK)
        except OSError:
            return
        if late:
            web = self.server.web
            with web.lock:
                web.hits.append(("ON-CLOSING", late.split(b"\r\n", 1)[0].decode("latin-1")))


def test_connections_an_http10_server_closes_are_not_reused(tmp_path):
    with start_unseen_web(handler=_ClosesLazilyHandler) as web:
        sources = tmp_path / "sources.yml"
        sources.write_text("sources:\n" + "".join(line + "\n" for line in web.sources_yaml().splitlines()
                                                   if "hanweb-jpage" in line), encoding="utf-8")
        db = tmp_path / "archive.db"
        result = run_crawl(sources, db)
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
        # nothing was sent on a connection the server was closing (before: the column page, the data
        # proxy's POSTs and article pages, each on the connection of the response before it)
        assert web.requested("ON-CLOSING") == []
        # every record behind the data proxy reached, each range POSTed once (no try lost)
        posted = [p["request"] for p in web.posts]
        assert len(posted) == len(set(posted)) >= 1
    conn = sqlite3.connect(db)
    try:
        archived = {url for (url,) in conn.execute("select url from articles")}
    finally:
        conn.close()
    # (the sitemaps robots.txt names bring articles of their own)
    assert {web.url(jpage_article(n)) for n in range(1, JPAGE_TOTAL + 1)} <= archived


@pytest.mark.parametrize(("version", "header", "kept"), [
    ((b"HTTP", 1, 1), [], True),
    ((b"HTTP", 1, 1), [b"close"], False),
    ((b"HTTP", 1, 1), [b"Keep-Alive, Close"], False),
    ((b"HTTP", 1, 0), [], False),
    ((b"HTTP", 1, 0), [b"Keep-Alive"], True),
    ((b"HTTP", 1, 0), [b"keep-alive", b"close"], False),
    ((b"HTTP", 2, 0), [], True),
])
def test_which_responses_leave_their_connection_open(version, header, kept):
    assert server_keeps_connection(version, header) is kept
