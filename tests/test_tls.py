"""HTTPS portals whose certificate or TLS a browser would refuse are still archived.

Government sites often serve HTTPS with a self-signed or expired certificate, or one for another name,
and old ones speak only TLS 1.0. The archive records what a public page said, not a transaction: like
Scrapy by default, the crawler does not verify certificates (DOWNLOAD_VERIFY_CERTIFICATES stays off),
and it speaks TLS 1.0/1.1, which OpenSSL 3 refuses at its default security level
(crawler/connections.py). Pinned down over real TLS connections, through the crawler's own download
handler and its pooled connections.
"""

from __future__ import annotations

import datetime
import sqlite3
import ssl
import threading
import warnings
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from support import run_crawl
from unseenweb import article_page, list_page

ARTICLES = [f"/news/content_{n}.html" for n in range(1, 4)]


def expired_self_signed(directory: Path, name: str) -> tuple[Path, Path]:
    """A certificate for `name`, signed by its own key, that expired a year ago: two refusals in one."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=800)).not_valid_after(now - datetime.timedelta(days=365))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


class _Portal(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: later requests reuse pooled TLS connections

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the stdlib's name)
        pass

    def do_GET(self) -> None:  # noqa: N802
        status, ctype = 200, "text/html; charset=utf-8"
        if self.path == "/robots.txt":
            body, ctype = b"User-agent: *\nAllow: /\n", "text/plain"
        elif self.path == "/news/index.html":
            body = list_page([(path, f"项目建设动态{n}") for n, path in enumerate(ARTICLES, 1)], "")
        elif self.path in ARTICLES:
            n = ARTICLES.index(self.path) + 1
            body = article_page("加密", f"重点项目建设进展第{n}期", day=n)
        else:
            status, body, ctype = 404, b"not found", "text/plain"
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(params=["modern TLS", "TLS 1.0 only"])
def https_portal(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    cert, key = expired_self_signed(tmp_path, "portal.example.gov.cn")  # not the name we connect to either
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    if request.param == "TLS 1.0 only":  # a server left as it was set up a decade ago
        context.set_ciphers("DEFAULT:@SECLEVEL=0")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # ssl.TLSVersion.TLSv1: the point here
            context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Portal)
    server.daemon_threads = True
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _crawl(portal: str, directory: Path, *settings: str) -> tuple[dict[str, str], list[tuple[str, str]]]:
    directory.mkdir()
    sources = directory / "sources.yml"
    sources.write_text(f"sources:\n  - {{id: https-portal, name: 加密, region: 测试, "
                       f"start_urls: ['{portal}/news/index.html']}}\n", encoding="utf-8")
    db = directory / "archive.db"
    result = run_crawl(sources, db, *settings)
    assert result.returncode in (0, 1), result.stdout[-2000:] + result.stderr[-2000:]
    conn = sqlite3.connect(db)
    try:
        return (dict(conn.execute("select url, title from articles")),
                conn.execute("select url, reason from fetch_errors").fetchall())
    finally:
        conn.close()


def test_https_portal_with_a_refused_certificate_or_old_tls_is_archived(https_portal: str, tmp_path: Path) -> None:
    archived, errors = _crawl(https_portal, tmp_path / "crawl")
    assert set(archived) == {https_portal + path for path in ARTICLES}, errors
    assert sorted(archived.values()) == [f"重点项目建设进展第{n}期" for n in range(1, 4)]
    # every request was answered (the nav's home link is a 404 here): no TLS failure anywhere
    assert all(reason.startswith("HTTP ") for _, reason in errors), errors
    # the same portal with certificate checks on archives nothing: the certificate is one a browser refuses
    refused, errors = _crawl(https_portal, tmp_path / "verifying", "--set", "DOWNLOAD_VERIFY_CERTIFICATES=True")
    assert refused == {} and errors and not any(reason.startswith("HTTP ") for _, reason in errors), errors
