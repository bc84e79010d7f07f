"""Scrapy's HTTP download handler, keeping only the connections the server keeps too.

Twisted's client (twisted/web/_newclient.py, `_finishResponse_WAITING`) returns a connection to the
pool unless the response says `Connection: close`, whatever its HTTP version. An HTTP/1.0 response is
not persistent unless it says `Connection: keep-alive` (RFC 7230 section 6.3), and old portal servers
answer HTTP/1.0 and close without a word: the next request taken from the pool goes to a connection
the server is closing. Twisted sends a GET again on a fresh connection (`_RetryingHTTP11ClientProtocol`
retries idempotent requests without a body); a POST - the Hanweb jpage data proxy, the spider's only
one - is lost, and Scrapy's retries take other such connections from the pool: all three tries failed
in ~1 of 20 crawls on a loaded machine. Here such a connection is closed instead of pooled.

Why a pool subclass: which connections are pooled is decided only there (`_putConnection`, the
quiescent callback the pool gives every connection it makes), and Scrapy's handler takes its pool
as an attribute, so nothing else of Scrapy's download path is copied. tests/test_connections.py.
"""

from __future__ import annotations

from typing import Any

from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler
from twisted.web.client import HTTPConnectionPool


def server_keeps_connection(version: tuple[Any, int, int], connection_header: list[bytes]) -> bool:
    """Whether a response leaves its connection open for another request (RFC 7230 section 6.3):
    HTTP/1.1 and later unless `Connection: close`; HTTP/1.0 only with `Connection: keep-alive`."""
    tokens = {token.strip().lower() for value in connection_header for token in value.split(b",")}
    if b"close" in tokens:
        return False
    return tuple(version[1:]) >= (1, 1) or b"keep-alive" in tokens


class KeptConnectionPool(HTTPConnectionPool):
    """An HTTPConnectionPool that does not pool a connection whose last response ended it."""

    def _putConnection(self, key: Any, connection: Any) -> None:  # noqa: ANN401 (Twisted's signature)
        parser = getattr(connection, "_parser", None)  # the response's parser, still there when it quiesces
        response = getattr(parser, "response", None)
        if response is not None and not server_keeps_connection(
                response.version, parser.connHeaders.getRawHeaders(b"Connection", [])):
            connection.transport.loseConnection()
            return
        super()._putConnection(key, connection)


class KeptConnectionsDownloadHandler(HTTP11DownloadHandler):
    """Scrapy's HTTP/1.1 handler with a KeptConnectionPool, configured as Scrapy configures its own."""

    def __init__(self, crawler: Any) -> None:  # noqa: ANN401 (scrapy.crawler.Crawler)
        super().__init__(crawler)
        scrapy_pool = self._pool
        pool = KeptConnectionPool(scrapy_pool._reactor, persistent=scrapy_pool.persistent)
        pool.maxPersistentPerHost = scrapy_pool.maxPersistentPerHost
        pool._factory = scrapy_pool._factory
        self._pool = pool
