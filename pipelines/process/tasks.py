"""What a processing worker is given and gives back: picklable, and light to import.

The writer (pipelines.process.write, in the processing process) unpickles every ProcessedCapture a
worker sends: defining these classes here rather than beside process_capture keeps the extraction
stack (trafilatura, lxml, OpenCC, the rules) out of the writer's process, which never extracts.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit


@dataclass
class PartTask:
    """A later page of a multi-page article (t…_1.html …), as stored."""

    url: str
    content_type: str | None
    body: bytes
    body_encoding: str | None

    def raw_body(self) -> bytes:
        return gzip.decompress(self.body) if self.body_encoding == "gzip" else self.body


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
    region: str | None = None  # the source's region: facts resolve places against it
    parts: tuple[PartTask, ...] = ()
    kind: str = "article"  # or "attachment": a file an article links to, whose text is wanted

    @classmethod
    def from_row(cls, row: dict[str, Any], *, region: str | None = None,
                 parts: tuple[PartTask, ...] = ()) -> CaptureTask:
        """From a `captures` row (pipelines.process.pending.CAPTURE_COLUMNS)."""
        return cls(capture_id=row["id"], url=row["url"], final_url=row["final_url"] or row["url"],
                   status=row["status"], headers=json.loads(row["headers"] or "{}"), body=row["body"] or b"",
                   body_encoding=row["body_encoding"], fetched_at=row["fetched_at"], source_id=row["source_id"],
                   run_id=row["run_id"], region=region, parts=parts, kind=row.get("kind") or "article")

    @property
    def host(self) -> str:
        return host_of(self.final_url or self.url)

    @property
    def content_type(self) -> str | None:
        return content_type_of(self.headers)

    def raw_body(self) -> bytes:
        return gzip.decompress(self.body) if self.body_encoding == "gzip" else self.body


@dataclass
class ProcessedCapture:
    """What one capture gives: the article and its facts (article None: the page holds no article
    text, or is no article at all: `refusal` says why), or the error that stopped processing."""

    capture_id: int
    url: str
    final_url: str
    status: int
    headers: dict[str, str]
    fetched_at: str
    source_id: str | None
    run_id: int | None
    host: str
    article: dict | None = None  # pipelines.extract.article.Article.as_dict()
    facts: list[dict] = field(default_factory=list)  # pipelines.facts.extract_facts of the article
    refusal: str | None = None  # not an article: not HTML, or a soft 404 (see not_an_article)
    error: str | None = None
    head: bytes = field(default=b"", repr=False)  # start of the body, to say why a page gave no article
    kind: str = "article"  # "attachment": no article; `attachment_text` is what it gave
    attachment_text: str | None = None

    @classmethod
    def of(cls, task: CaptureTask, **fields: Any) -> ProcessedCapture:
        """The result for `task`, carrying its identity (capture, URLs, status, headers, source, run)."""
        return cls(capture_id=task.capture_id, url=task.url, final_url=task.final_url, status=task.status,
                   headers=task.headers, fetched_at=task.fetched_at, source_id=task.source_id, run_id=task.run_id,
                   host=task.host, **fields)


def host_of(url: str) -> str:
    return urlsplit(url).netloc.lower()


def content_type_of(headers: dict[str, str]) -> str | None:
    return next((v for k, v in headers.items() if k.lower() == "content-type"), None)
