"""Scrapy's HTTP download handler, keeping only the connections the server keeps too; TLS that old
portal servers still speak.

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

from OpenSSL import SSL
from scrapy.core.downloader.contextfactory import _ScrapyCertificateOptions, _ScrapyClientContextFactory
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
    """Scrapy's HTTP/1.1 handler with a KeptConnectionPool (configured as Scrapy configures its own)
    and a LegacyTLSContextFactory."""

    def __init__(self, crawler: Any) -> None:  # noqa: ANN401 (scrapy.crawler.Crawler)
        super().__init__(crawler)
        scrapy_pool = self._pool
        pool = KeptConnectionPool(scrapy_pool._reactor, persistent=scrapy_pool.persistent)
        pool.maxPersistentPerHost = scrapy_pool.maxPersistentPerHost
        pool._factory = scrapy_pool._factory
        self._pool = pool
        # Scrapy's DOWNLOADER_CLIENTCONTEXTFACTORY setting is deprecated (2.19): the handler sets its own
        self._contextFactory = LegacyTLSContextFactory.from_crawler(crawler)


# ---------------------------------------------------------------- TLS of old servers

# OpenSSL 3's default security level (2) refuses TLS 1.0 and 1.1 and short keys, which county portals
# still serve; the archive reads public pages without verifying certificates (Scrapy's default), so
# refusing them protects nothing. Level 0 allows them; a modern server still negotiates TLS 1.3/1.2
# and its own strong ciphers.
LEGACY_CIPHERS = b"DEFAULT:@SECLEVEL=0"


class _LegacyTLSOptions(_ScrapyCertificateOptions):
    def _makeContext(self, skipCiphers: bool = False) -> SSL.Context:  # noqa: N802, N803 (Twisted's names)
        context = super()._makeContext(skipCiphers)
        if not skipCiphers:  # Twisted expands DOWNLOADER_CLIENT_TLS_CIPHERS and drops any @SECLEVEL in it
            context.set_cipher_list(LEGACY_CIPHERS)
        return context


class LegacyTLSContextFactory(_ScrapyClientContextFactory):
    """Scrapy's context factory (no certificate verification) whose contexts also speak TLS 1.0/1.1
    (with DOWNLOAD_TLS_MIN_VERSION = "TLSv1.0", which keeps Twisted from excluding them), used by
    KeptConnectionsDownloadHandler. Built on Scrapy's private classes because its settings cannot
    express a security level; tests/test_tls.py crawls a TLS 1.0-only server and would fail if a Scrapy
    upgrade moved them. With DOWNLOAD_VERIFY_CERTIFICATES on, Scrapy's verifying path (modern TLS) is
    used unchanged."""

    def _get_cert_options(self) -> _ScrapyCertificateOptions:
        return _LegacyTLSOptions(**self._get_cert_options_kwargs())
