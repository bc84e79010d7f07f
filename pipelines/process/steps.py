"""Processing of one capture: a pure function, run in worker processes (pipelines.process.runner).

    process_capture(task) -> ProcessedCapture

It reads nothing and writes nothing: the task carries the raw capture (gzip body as stored) and the
knowledge processing needs from the archive (the host's learned boilerplate lines, a snapshot); the
result carries everything the writer (`pipelines.process.write.store_processed`) puts in the archive.
That is what lets it run on every core and be repeated safely (same task, same result).

Adding a step (facts, entities, ...): compute it here from the parsed page or the article, add a field
to ProcessedCapture, and write it in store_processed, in the same transaction as the article.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from pipelines.extract.article import extract_from_tree
from pipelines.extract.boilerplate import PageLines, lines_of_tree
from pipelines.extract.clean_dom import parse_html, strip_junk
from pipelines.extract.decode import decode_html


@dataclass
class CaptureTask:
    """A stored capture and what processing it needs, picklable for a worker process."""

    capture_id: int
    url: str  # as requested: the article's identity
    final_url: str
    status: int
    headers: dict[str, str]
    body: bytes  # as stored (body_encoding says how)
    body_encoding: str | None
    fetched_at: str
    source_id: str | None
    run_id: int | None
    boilerplate: frozenset[str] = frozenset()  # the host's learned chrome lines when the task was made
    attempt: int = 1

    @classmethod
    def from_row(cls, row: dict[str, Any], boilerplate: frozenset[str] = frozenset()) -> CaptureTask:
        """From a `captures` row (pipelines.process.pending.CAPTURE_COLUMNS)."""
        return cls(capture_id=row["id"], url=row["url"], final_url=row["final_url"] or row["url"],
                   status=row["status"], headers=json.loads(row["headers"] or "{}"), body=row["body"] or b"",
                   body_encoding=row["body_encoding"], fetched_at=row["fetched_at"], source_id=row["source_id"],
                   run_id=row["run_id"], boilerplate=boilerplate)

    @property
    def host(self) -> str:
        return host_of(self.final_url or self.url)

    @property
    def content_type(self) -> str | None:
        return next((v for k, v in self.headers.items() if k.lower() == "content-type"), None)

    def raw_body(self) -> bytes:
        return gzip.decompress(self.body) if self.body_encoding == "gzip" else self.body


@dataclass
class ProcessedCapture:
    """What one capture gives: the article (None: the page holds no article text) and the page's
    candidate chrome lines (boilerplate learning), or the error that stopped processing."""

    capture_id: int
    url: str
    final_url: str
    status: int
    headers: dict[str, str]
    fetched_at: str
    source_id: str | None
    run_id: int | None
    host: str
    boilerplate: frozenset[str]  # the snapshot the article was extracted with
    attempt: int
    article: dict | None = None  # pipelines.extract.article.Article.as_dict()
    lines: PageLines | None = None
    error: str | None = None
    head: bytes = field(default=b"", repr=False)  # start of the body, to say why a page gave no article


def host_of(url: str) -> str:
    return urlsplit(url).netloc.lower()


def process_capture(task: CaptureTask) -> ProcessedCapture:
    """Decode and parse the page once; its boilerplate lines and its article from the same tree."""
    result = ProcessedCapture(
        capture_id=task.capture_id, url=task.url, final_url=task.final_url, status=task.status,
        headers=task.headers, fetched_at=task.fetched_at, source_id=task.source_id, run_id=task.run_id,
        host=task.host, boilerplate=task.boilerplate, attempt=task.attempt,
    )
    try:
        body = task.raw_body()
        html, encoding = decode_html(body, task.content_type)
        doc = parse_html(html)
        if doc is None:
            result.head = body[:200_000]
            return result
        strip_junk(doc)
        result.lines = lines_of_tree(doc)  # before extraction: extract_from_tree edits the tree
        article = extract_from_tree(doc, task.final_url or task.url, encoding=encoding,
                                    boilerplate=task.boilerplate or None)
    except Exception as exc:  # one odd page must never stop processing: the writer records it
        result.error = f"processing failed: {exc!r}"[:500]
        return result
    if article is None:
        result.head = body[:200_000]
        return result
    article.url = task.url  # the article is keyed by the URL we asked for, not the redirect target
    result.article = article.as_dict()
    return result
