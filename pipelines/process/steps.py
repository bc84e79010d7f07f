"""Processing of one capture: a pure function, run in worker processes (pipelines.process.runner).

    process_capture(task) -> ProcessedCapture

It reads nothing and writes nothing: the task carries the raw capture (gzip body as stored), the later
pages of a multi-page article and the source's region; the result carries everything the writer
(`pipelines.process.write.store_processed`) puts in the archive. That is what lets it run on every core
and be repeated safely (same task, same result: extraction learns nothing per site, see
docs/extraction.md#determinism).

Steps, in order: is the response an article at all (`not_an_article`) → the article
(pipelines.extract) → the later pages' text joined (`join_parts`) → the facts (pipelines.facts).
Adding a step (entities, ...): compute it here from the article, add a field to ProcessedCapture, and
write it in store_processed, in the same transaction as the article.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from pipelines.attachments.text import extract_text
from pipelines.extract.article import Article, PageRefused, extract_article
from pipelines.facts import extract_facts
from pipelines.process.tasks import CaptureTask, PartTask, ProcessedCapture
from pipelines.urls import looks_like_article_url, looks_like_list_url

_INDEX_PAGES = ("index.html", "index.htm", "index.shtml", "default.html", "default.htm")


def not_an_article(url: str, final_url: str | None, content_type: str | None, body: bytes) -> str | None:
    """Why a fetched response can never be an article row, or None.

    - not HTML: a PDF, spreadsheet or archive served where an article link pointed (attachments are
      archived as such, never as articles); HTML is recognised by its Content-Type, or by its first
      bytes when the header is missing or generic;
    - a soft 404: the article URL redirected to the site's home page or to a list page (deleted
      articles on most CMS), recorded as dead rather than archived as an article."""
    content_type = (content_type or "").split(";")[0].strip().lower()
    head = body[:1024].lstrip().lower()
    sniffed_html = head.startswith((b"<!doctype html", b"<html", b"<?xml")) or b"<html" in head
    if content_type and "html" not in content_type and not (
            content_type in ("application/octet-stream", "text/plain") and sniffed_html):
        return f"not an article: {content_type} response"
    if not content_type and not sniffed_html:
        return "not an article: not HTML"
    final = final_url or url
    if final != url:
        path = urlsplit(final).path
        if path in ("", "/") or path.rsplit("/", 1)[-1].lower() in _INDEX_PAGES:
            if not looks_like_article_url(final):
                return f"soft 404: redirected to the home or column page {final}"
        elif looks_like_list_url(final) and not looks_like_article_url(final):
            return f"soft 404: redirected to a list page {final}"
    return None


def join_parts(article: Article, later_pages: list[Article | None]) -> None:
    """One article from the pages of a multi-page article: texts joined in page order."""
    pages = [page for page in later_pages if page is not None and page.text]
    if not pages:
        return
    article.text = "\n\n".join([article.text, *(page.text for page in pages)])
    if article.text_simplified is not None:
        article.text_simplified = "\n\n".join(
            [article.text_simplified, *((page.text_simplified or page.text) for page in pages)])


def _later_page(part: PartTask) -> Article | None:
    """A later page of a multi-page article; one the extraction refuses is left out, as a missing one is."""
    try:
        return extract_article(part.raw_body(), part.url, part.content_type)
    except PageRefused:
        return None


def over_budget(task: CaptureTask, cpu_seconds: float) -> ProcessedCapture:
    """The result for a capture whose processing a worker stopped after `cpu_seconds` of CPU
    (pipelines.process.worker): a page is recorded like one without article text, with the reason
    (fetch_errors; its frontier row looked at again on a backoff); an attachment keeps no text, as a
    broken file does."""
    if task.kind == "attachment":
        return ProcessedCapture.of(task, kind="attachment")
    return ProcessedCapture.of(task, refusal=f"page too costly to process: more than {cpu_seconds:g} s of CPU: "
                                             f"{task.final_url or task.url}")


def process_capture(task: CaptureTask) -> ProcessedCapture:
    """Decide whether the response is an article, extract it (joining its later pages), find its facts."""
    result = ProcessedCapture.of(task)
    try:
        body = task.raw_body()
        if task.kind == "attachment":
            result.kind = "attachment"
            result.attachment_text = extract_text(body, task.final_url or task.url, task.content_type)
            return result
        result.refusal = not_an_article(task.url, task.final_url, task.content_type, body)
        if result.refusal:
            return result
        try:
            article = extract_article(body, task.final_url or task.url, task.content_type)
        except PageRefused as exc:  # recorded like a page without article text, with the reason
            result.refusal = f"{exc}: {task.final_url or task.url}"
            return result
        if article is None:
            result.head = body[:200_000]
            return result
        if task.parts:
            join_parts(article, [_later_page(part) for part in task.parts])
        article.url = task.url  # the article is keyed by the URL we asked for, not the redirect target
        result.article = article.as_dict()
        result.facts = extract_facts(article.text, article.published, task.region, posted_near=article.posted_near)
    except Exception as exc:  # one odd page must never stop processing: the writer records it
        result.error = f"processing failed: {exc!r}"[:500]
        result.article, result.facts = None, []
    return result
