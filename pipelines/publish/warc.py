"""Export the archive's captures as a standard WARC file (ISO 28500, WARC/1.0, gzip per record).

A journalist who has to prove what a government page said on a date hands over the WARC: replay
tools (pywb, ReplayWeb.page) and `warcio check` read it, and every response carries the sha1 payload
digest of the exact body we stored, next to the sha256 the archive keeps.

Per capture (response first, then its request: warcio's order, which replay indexers expect):
  response  the stored status, headers and body. The body is stored *decoded* (Scrapy undoes gzip and
            chunking), so Content-Encoding / Transfer-Encoding / Content-Length are removed and a
            Content-Length of the stored body is set; the original values survive as
            X-Archive-Orig-<Name> headers (pywb's convention), so nothing the server said is lost.
  request   reconstructed: we do not store request headers, so it is the minimal GET the crawler
            sends (Host, the crawl's User-Agent). It is marked as reconstructed in the metadata record.
  metadata  govbrief's own facts about the capture: capture id, source, requested URL, sha256.
The request and the metadata record point at the response with WARC-Concurrent-To.

Redirects: a capture keeps the URL we asked for (`url`) and the URL that answered (`final_url`). The
response and request records target `final_url`, because that is the resource whose bytes we hold; the
3xx hops were not stored, so we do not invent them (no fabricated redirect or revisit records). The
requested URL is kept in the metadata record (`requested-url`).

Streaming: captures are read from SQLite one row at a time and each record is written before the
next row is read, so memory stays at one body whatever the archive size.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from http import HTTPStatus
from io import BytesIO
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

import sqlite_utils
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from pipelines.identity import USER_AGENT, release

# Hop-by-hop or encoding headers that no longer describe the stored (decoded) body.
_DROP_HEADERS = {"content-encoding", "transfer-encoding", "content-length"}
# We never stored the HTTP version; HTTP/1.1 is what Scrapy's default downloader speaks.
_HTTP_PROTOCOL = "HTTP/1.1"


def _crawl_user_agent() -> str:
    """The User-Agent the crawler sends (crawler/settings.py takes it from pipelines.identity)."""
    return USER_AGENT


def _software() -> str:
    version = release()
    return f"govbrief/{version}" if version else "govbrief"  # the name alone still identifies us


def warc_date(value: str | None) -> str | None:
    """fetched_at (ISO 8601, usually '...Z') -> WARC-Date 'YYYY-MM-DDThh:mm:ssZ' in UTC; None if unusable."""
    if not value:
        return None
    try:
        dt = datetime.fromisoformat(value.strip().replace(" ", "T"))
    except ValueError:
        return None
    if dt.tzinfo is None:  # the crawler writes UTC; a naive value is taken as UTC, not local time
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _clean_value(value: Any) -> str:
    # A CR/LF inside a stored header value would break the HTTP block (header injection).
    return " ".join(str(value).splitlines())


def response_headers(status: int, headers: dict[str, Any], body_length: int) -> StatusAndHeaders:
    """The HTTP response head for a stored capture, consistent with its decoded body."""
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = ""
    pairs: list[tuple[str, str]] = []
    for name, value in headers.items():
        values = value if isinstance(value, list) else [value]
        for v in values:
            if name.lower() in _DROP_HEADERS:
                pairs.append((f"X-Archive-Orig-{name}", _clean_value(v)))
            else:
                pairs.append((name, _clean_value(v)))
    pairs.append(("Content-Length", str(body_length)))
    return StatusAndHeaders(f"{status} {reason}".strip(), pairs, protocol=_HTTP_PROTOCOL)


def request_headers(url: str, user_agent: str | None) -> StatusAndHeaders:
    """A minimal reconstructed GET for url (we do not store the request the crawler sent)."""
    parts = urlsplit(url)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    pairs = [("Host", parts.netloc)]
    if user_agent:
        pairs.append(("User-Agent", user_agent))
    return StatusAndHeaders(f"GET {target} {_HTTP_PROTOCOL}", pairs, is_http_request=True)


def _iter_captures(db: sqlite_utils.Database, source_id: str | None, capture_id: int | None = None
                   ) -> Iterator[dict]:
    sql = "select * from captures"
    params: list[Any] = []
    if source_id is not None:
        sql += " where source_id = ?"
        params.append(source_id)
    if capture_id is not None:
        sql += (" and" if params else " where") + " id = ?"
        params.append(capture_id)
    # A cursor, not a list: rows arrive one at a time.
    yield from db.query(sql + " order by id", params)


def _body(row: dict) -> bytes:
    body = row.get("body") or b""
    if row.get("body_encoding") == "gzip":
        body = gzip.decompress(body)
    return body


def write_warc(db: sqlite_utils.Database, out: BinaryIO, *, source_id: str | None = None,
               filename: str | None = None, user_agent: str | None = None,
               capture_id: int | None = None) -> dict[str, int]:
    """Write warcinfo + (request, response, metadata) per capture to a binary stream (only one capture
    with capture_id: the article page links it). Returns counts."""
    writer = WARCWriter(out, gzip=True)
    user_agent = user_agent if user_agent is not None else _crawl_user_agent()
    info = {
        "software": _software() + " (warcio)",
        "format": "WARC File Format 1.0",
        "description": ("Captures exported from a govbrief archive. Response bodies are the stored bodies, "
                        "decoded; original Content-Encoding/Transfer-Encoding/Content-Length are kept as "
                        "X-Archive-Orig-* headers. Request records are reconstructed, not captured."),
        "isPartOf": source_id or "govbrief archive",
        "robots": "obey",
        "http-header-user-agent": user_agent,
    }
    writer.write_record(writer.create_warcinfo_record(filename, info))

    counts = {"captures": 0, "records": 1, "requests": 0, "responses": 0, "metadata": 0,
              "skipped_undated": 0, "bytes_payload": 0}
    for row in _iter_captures(db, source_id, capture_id):
        date = warc_date(row.get("fetched_at"))
        if date is None:
            # Evidence without a fetch time proves nothing; counted so the caller sees the gap.
            counts["skipped_undated"] += 1
            continue
        body = _body(row)
        target = row.get("final_url") or row["url"]
        headers = json.loads(row.get("headers") or "{}")

        response = writer.create_warc_record(
            target, "response", payload=BytesIO(body), length=len(body),
            http_headers=response_headers(int(row["status"]), headers, len(body)),
            warc_headers_dict={"WARC-Date": date},
        )
        request = writer.create_warc_record(
            target, "request", http_headers=request_headers(target, user_agent),
            warc_headers_dict={"WARC-Date": date},
        )
        # Sets WARC-Concurrent-To on the request (pointing at the response) and writes both.
        writer.write_request_response_pair(request, response)

        meta_fields = {
            "govbrief-capture-id": row["id"],
            "govbrief-source-id": row.get("source_id"),
            "requested-url": row["url"],
            "final-url": target,
            "redirected": "yes" if target != row["url"] else "no",
            "fetched-at": row.get("fetched_at"),
            "body-sha256": row.get("sha256"),
            "request-record": "reconstructed",
        }
        meta = "".join(f"{k}: {v}\r\n" for k, v in meta_fields.items() if v is not None).encode("utf-8")
        metadata = writer.create_warc_record(
            target, "metadata", payload=BytesIO(meta), length=len(meta),
            warc_content_type="application/warc-fields",
            warc_headers_dict={
                "WARC-Date": date,
                "WARC-Concurrent-To": response.rec_headers.get_header("WARC-Record-ID"),
            },
        )
        writer.write_record(metadata)

        counts["captures"] += 1
        counts["requests"] += 1
        counts["responses"] += 1
        counts["metadata"] += 1
        counts["records"] += 3
        counts["bytes_payload"] += len(body)
    return counts


def export_warc(db: sqlite_utils.Database, out_path: str, *, source_id: str | None = None) -> dict[str, int]:
    """Write every capture (or one source's) to out_path as a gzipped WARC. Returns counts.

    Written to a temporary name and renamed at the end, so a failed export never leaves a
    truncated file that looks complete.
    """
    path = Path(out_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    try:
        with open(tmp, "wb") as fh:
            counts = write_warc(db, fh, source_id=source_id, filename=path.name)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return counts
