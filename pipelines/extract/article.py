"""Extraction: a pure function from a stored capture (raw bytes + URL + Content-Type) to an article.

The crawl, `govbrief reextract` and `govbrief extract` all call `extract_article`, so what the
benchmark measures is exactly what the archive stores.

Pipeline (v4):
  1. decode the bytes (pipelines.extract.decode), parse once with lxml, drop scripts/styles/comments;
  2. read the metadata a journalist cites from the intact page (pipelines.extract.metadata_cn): headline,
     date and where it came from, 来源, author, editor;
  2b. (v3) loose text of containers becomes <p> paragraphs, one per <br>-separated run
     (clean_dom.paragraphs_from_breaks): trafilatura dropped the lead paragraph of such pages;
  3. clean the DOM (pipelines.extract.clean_dom): spam blocks (rules/spam.yml), link lists measured
     in characters, teaser lists, related-list headings with their lists;
  4. trafilatura picks the article container on the cleaned tree; (v4) a line that is a run of the
     page's own paragraphs joined by spaces (a layout-table cell) is split back into them;
  5. clean its lines (pipelines.extract.clean_rules): spam rules again (spam that sits inside the container),
     cut at prev/next / related / comments / paywall markers (unless the text after the marker is
     the bigger part: then the marker sat in a sidebar), dated-title runs, the info line, the
     headline; (v3) repeated paragraphs, disclaimers by their legal vocabulary, leaked CSS, pagers,
     decorated markers, and at the article's edges date stamps and site plugs; table rows are
     judged cell by cell;
  6. short notices: when trafilatura finds nothing, the densest block of the cleaned page is used.

v4: no rule names a phrase of one site any more (rules/spam.yml holds structure families); the
政务公开 metadata grid is parsed into fields (pipelines.extract.grid) and removed before cleaning;
the charset is checked for plausibility (pipelines.extract.decode); no per-site learning: the
article is a function of the capture alone, whatever the crawl order; every article carries its
extraction provenance (where title / date / 来源 came from, what each rule family removed, warnings).
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from collections.abc import Iterator
from copy import deepcopy
from dataclasses import dataclass, field, fields, replace
from urllib.parse import urlsplit

import lxml.html
import trafilatura
from lxml import etree
from trafilatura.settings import use_config

from pipelines.chinese import cjk_len, detect_language, detect_script, to_simplified
from pipelines.extract.clean_dom import (
    alpha_len,
    block_text,
    clean_tree,
    iter_leaf_blocks,
    page_lines,
    paragraphs_from_breaks,
    parse_html,
    strip_junk,
    wrap_loose_lines,
)
from pipelines.extract.clean_rules import clean_lines, family_of, is_paragraph, table_cells
from pipelines.extract.decode import decode_page
from pipelines.extract.grid import find_grid
from pipelines.extract.metadata_cn import PageMeta, extract_meta
from pipelines.extract.plain_text import PLAIN_TEXT_HEADLINE, is_plain_text
from pipelines.extract.plain_text import as_html as plain_text_as_html

EXTRACTOR_VERSION = "8"
SHORT_TEXT = 60  # CJK characters: below this an article is flagged (a notice, or a cut page)

# trafilatura falls back to noisy baseline output below MIN_EXTRACTED_SIZE characters; Chinese
# notices of 40-200 characters are real articles, so the thresholds are lowered for CJK text.
_TRAFILATURA_CONFIG = use_config()
_TRAFILATURA_CONFIG.set("DEFAULT", "MIN_EXTRACTED_SIZE", "20")
_TRAFILATURA_CONFIG.set("DEFAULT", "MIN_OUTPUT_SIZE", "10")
_TRAFILATURA_CONFIG.set("DEFAULT", "MIN_EXTRACTED_COMM_SIZE", "10")
_TRAFILATURA_CONFIG.set("DEFAULT", "MIN_OUTPUT_COMM_SIZE", "10")
_TRAFILATURA_CONFIG.set("DEFAULT", "EXTRACTION_TIMEOUT", "0")

_LIST_MARKER = re.compile(r"^\s*-\s+")
_SENTENCE_END = re.compile(r"[。！？!?；;]")



@dataclass
class Article:
    url: str
    title: str | None
    text: str
    published: str | None = None
    published_source: str | None = None
    source_org: str | None = None
    author: str | None = None
    editor: str | None = None
    script: str | None = None
    language: str | None = None
    title_simplified: str | None = None
    text_simplified: str | None = None
    encoding: str | None = None
    extractor_version: str = EXTRACTOR_VERSION
    warnings: list[str] = field(default_factory=list)
    # added in v2: where the headline came from (meta:ArticleTitle, heading, meta:og:title, title, h1)
    title_source: str | None = None
    # added in v2: which path produced the text (trafilatura | densest-block)
    text_source: str | None = None
    # added in v4: the catalogue fields of 政务公开 pages (pipelines.extract.grid)
    doc_number: str | None = None  # 发文字号
    index_no: str | None = None  # 索引号
    issuing_org: str | None = None  # 发文机关 / 发布机构
    written_date: str | None = None  # 成文日期 (signing date, not the publication date)
    # added in v4: why the article looks the way it does (see docs/extraction.md#provenance)
    provenance: dict = field(default_factory=dict)
    # added in v5: no date of its own, but its 上一篇 / 下一篇 links are dated (metadata_cn.neighbour_date)
    posted_near: str | None = None

    def as_dict(self) -> dict:
        """The fields as a dict, for pickling to the writer and for JSON. Shallow: dataclasses.asdict
        copied every nested dict and list of the provenance again (5 % of a worker's time), and
        nothing changes an Article after extraction."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


# Above this many elements a page is read by trafilatura's own extractor only, without the jusText and
# readability runs it compares its result with: jusText's reclassification looks for each short
# paragraph's neighbours by walking the paragraph list (quadratic: 10,000 short blocks took 12 s, 200,000
# ran past 20 GB of memory), so a hostile or broken page of ten megabytes of tiny blocks would hold a
# worker for hours. Every corpus page has fewer (the largest of 640: 7,782 elements).
FULL_EXTRACTION_ELEMENTS = 10_000
# Above this many elements a page is not extracted at all (PageRefused, its reason recorded where the
# page's failure is: fetch_errors, `govbrief extract`'s error): even without the fallbacks, extraction
# costs ~0.1-0.3 ms of CPU and ~5 kB of memory an element (50,000 tiny blocks: 13 s, 260 MB; the download
# limit's 10 MB of <br> or <span> run past a minute and 1-2 GB in one worker). An article page has
# hundreds to a few thousand; 50,000 is a table of 7,000 rows, six times the largest corpus page.
MAX_ELEMENTS = 50_000


class PageRefused(ValueError):
    """A page the extraction will not read (its message says why, naming the limit)."""


def _trafilatura_lines(doc: lxml.html.HtmlElement, url: str, *, fast: bool = False) -> list[str]:
    result = trafilatura.bare_extraction(
        doc, url=url, with_metadata=False, include_comments=False, include_tables=True,
        include_images=False, deduplicate=False, config=_TRAFILATURA_CONFIG, fast=fast,
    )
    if result is None:
        return []
    text = result.text if hasattr(result, "text") else (result.get("text") or "")
    # trafilatura marks list items with "- "; the marker is not part of the text
    return [_LIST_MARKER.sub("", line) for line in (text or "").splitlines() if line.strip()]


_KEY = 8  # characters that index a paragraph of the page
_SHORT = 30  # a paragraph shorter than _KEY is split off only when this close to the next known one


def split_joined_paragraphs(lines: list[str], doc: lxml.html.HtmlElement) -> list[str]:
    """Give back the page's paragraph breaks where trafilatura joined paragraphs with spaces.

    trafilatura reads a table cell as one cell of data: the <p> paragraphs of an article laid out in
    a table (Hanweb templates, GBK county sites) come out as one line. A line that is exactly a
    run of two or more of the page's own paragraphs, joined by spaces, is split back into them;
    nothing else changes (no text is added or lost, trafilatura's choice of container stands)."""
    if not any(len(line) > 2 * _KEY for line in lines):
        return lines
    # the page's paragraphs, and per first _KEY characters the lengths they come in, longest first:
    # many paragraphs may share a start (a digest's 5,000 "来源：…" lines), far fewer lengths do, so a
    # look-up costs a few set probes, not a scan of every paragraph with that start (quadratic before)
    paragraphs: set[str] = set()
    lengths: dict[str, set[int]] = {}
    for el in iter_leaf_blocks(doc):
        parts = page_lines(el) if el.find(".//br") is not None else [block_text(el)]
        for text in parts:
            if len(text) >= _KEY:
                paragraphs.add(text)
                lengths.setdefault(text[:_KEY], set()).add(len(text))
    longest_first = {key: sorted(found, reverse=True) for key, found in lengths.items()}

    def paragraph_at(line: str, i: int) -> str | None:
        for length in longest_first.get(line[i:i + _KEY], ()):
            if (text := line[i:i + length]) in paragraphs:
                return text
        return None

    out: list[str] = []
    for row in lines:
        cells = table_cells(row)
        # a one-cell table row ("| text |") is a layout cell, the usual home of such paragraphs
        line = cells[0] if cells is not None and len(cells) == 1 else row
        pieces: list[str] = []
        known = 0
        i = 0
        while i < len(line):
            text = paragraph_at(line, i)
            if text is None:
                # a short paragraph (a chapter heading "第一章 总 则") between known ones: up to the
                # next space after which a known paragraph starts, or to the end of the line
                nxt = next((k for k in range(i + 1, min(len(line), i + _SHORT)) if line[k - 1] == " "
                            and paragraph_at(line, k)), None)
                if nxt is None and len(line) - i > _SHORT:
                    break
                text = line[i:nxt - 1] if nxt is not None else line[i:]
            else:
                known += 1
            pieces.append(text.strip())
            i += len(text)
            while i < len(line) and line[i] == " ":
                i += 1
        if known >= 2 and i >= len(line):
            out.extend(p for p in pieces if p)
        else:
            out.append(row)
    return out


def _densest_block_lines(doc: lxml.html.HtmlElement) -> list[str]:
    """Fallback for short notices: the lines of the container holding the most sentence text.

    Each leaf block that reads like prose gives its characters to its parent; the best parent's
    leaf blocks, in order, are the article."""
    score: Counter[etree._Element] = Counter()
    for el in iter_leaf_blocks(doc):
        text = block_text(el)
        if len(text) >= 10 and (_SENTENCE_END.search(text) or len(text) >= 30):
            # a block of <br>-separated paragraphs is a container itself; a <p> gives to its parent
            holder = el if el.find("br") is not None and len(text) >= 100 else el.getparent()
            if holder is not None:
                score[holder] += alpha_len(text)
    if not score:
        return []
    best = score.most_common(1)[0][0]
    return page_lines(best)


def _prose_chars(lines: list[str]) -> int:
    """CJK characters in lines that read like article prose."""
    return sum(cjk_len(line) for line in lines if is_paragraph(line))


def extract_article(body: bytes, url: str, content_type: str | None = None, *,
                    boilerplate: frozenset[str] | None = None) -> Article | None:
    """Extract the article of one captured page; None when the page holds no article text.

    A pure function of the capture: the same bytes, URL and Content-Type give the same article.
    `boilerplate`: optional fingerprints (pipelines.extract.clean_rules.fingerprint) of lines known as
    chrome of this page's site; the crawl and `reextract` pass none (v4: structural rules suffice,
    see docs/extraction.md#determinism).
    """
    decoded = decode_page(body, content_type)
    warnings = list(decoded.warnings)
    plain = is_plain_text(decoded.text)
    # a text without markup (a page saved as text, a farm's text dump): its lines as paragraphs and its
    # headline as the <h1>, so the structural rules read it as they read a page (pipelines.extract.plain_text)
    doc = parse_html(plain_text_as_html(decoded.text) if plain else decoded.text)
    if doc is None:
        return None
    if plain:
        warnings.append("plain-text")
    if _looks_truncated(body):
        warnings.append("truncated-page")
    article = extract_from_tree(doc, url, encoding=decoded.encoding, boilerplate=boilerplate,
                                encoding_from=decoded.how, warnings=warnings)
    if plain and article is not None and article.title_source == "h1":  # the <h1> is the one we marked
        article = replace(article, title_source=PLAIN_TEXT_HEADLINE, provenance={
            **article.provenance, "title": {**article.provenance["title"], "from": PLAIN_TEXT_HEADLINE}})
    return article


def refuse_huge(doc: lxml.html.HtmlElement) -> None:
    """PageRefused when the page has more than MAX_ELEMENTS elements. Counted by XPath, in C: iterating
    made a Python object for each element (0.8 s for a million, against 0.06)."""
    count = int(doc.xpath("count(descendant-or-self::*)"))
    if count > MAX_ELEMENTS:
        raise PageRefused(f"page too large to extract: {count:,} elements (at most {MAX_ELEMENTS:,})")


def _looks_truncated(body: bytes) -> bool:
    """An HTML page whose end tags never came (a cut download)."""
    tail = body[-2048:].lower()
    return b"<html" in body[:4096].lower() and b"</html" not in tail and b"</body" not in tail


def _date_from_loose_lines(doc: lxml.html.HtmlElement, url: str, meta: PageMeta) -> bool:
    """No date found: look again with the text between a container's blocks as lines of its own
    (clean_dom.wrap_loose_lines), on a copy: the article's text is extracted from the page as it is.
    Whether it found one (the provenance warns "date-from-loose-text")."""
    copy = deepcopy(doc)
    wrap_loose_lines(copy)
    again = extract_meta(copy, url, list(iter_leaf_blocks(copy)))
    if not again.published:
        return False
    meta.published, meta.published_source = again.published, again.published_source
    return True


def extract_from_tree(doc: lxml.html.HtmlElement, url: str, *, encoding: str | None = None,
                      boilerplate: frozenset[str] | None = None, encoding_from: str | None = None,
                      warnings: list[str] | None = None) -> Article | None:
    """extract_article on an already parsed page (the tree is modified in place). PageRefused: a page
    of more than MAX_ELEMENTS elements."""
    refuse_huge(doc)
    strip_junk(doc)
    # lxml makes a Python object for an element each time it is reached and no object for it is
    # alive, and lxml.html asks a Python-level class lookup for each one: every pass below over the
    # tree (grid, metadata, leaf blocks, link density ...) paid it again, a tenth of the extraction
    # time on the real-dev pages. Holding one object per element while this page is extracted makes
    # every later pass reuse them.
    elements = list(doc.iter())
    warnings = list(warnings or [])

    grid = find_grid(doc)
    meta = extract_meta(doc, url, list(iter_leaf_blocks(doc)), grid=grid)
    if meta.published is None and _date_from_loose_lines(doc, url, meta):
        warnings.append("date-from-loose-text")
    removed: Counter[str] = Counter()
    for element in grid.elements if grid is not None else ():
        if element.getparent() is not None:
            element.getparent().remove(element)  # its tail stays out too: grids end a row
            removed["grid"] += 1
    paragraphs_from_breaks(doc)
    removed.update(reason for reason, _ in clean_tree(doc, boilerplate=boilerplate, keep=meta.title_el))

    large = len(elements) > FULL_EXTRACTION_ELEMENTS
    if large:
        warnings.append(f"large-page: {len(elements)} elements (read without trafilatura's fallbacks)")
    lines = split_joined_paragraphs(_trafilatura_lines(doc, url, fast=large), doc)
    kept, verdicts = clean_lines(lines, title=meta.title, boilerplate=boilerplate)
    text_source = "trafilatura"
    # trafilatura sometimes misses the container (text in a <div> broken by <br>, old table
    # layouts) or, below its size thresholds, returns chrome: the densest block of the cleaned page
    # replaces its output when trafilatura found little prose and the block holds twice as much
    fallback: list[str] = []
    fallback_verdicts = []
    if _prose_chars(kept) < 150:
        fallback, fallback_verdicts = clean_lines(_densest_block_lines(doc), title=meta.title,
                                                  boilerplate=boilerplate)
    if (fallback and _prose_chars(fallback) > 2 * _prose_chars(kept)) or (
            cjk_len("".join(kept)) < 20 and cjk_len("".join(fallback)) > cjk_len("".join(kept))):
        kept, verdicts, text_source = fallback, fallback_verdicts, "densest-block"
        warnings.append("trafilatura-missed-container")
    removed.update(v.rule for v in verdicts if v.rule and v.rule != "empty")
    del elements
    text = "\n".join(kept).strip()
    if not text:
        return None
    if cjk_len(text) < SHORT_TEXT:
        warnings.append(f"short-text: {cjk_len(text)} CJK characters")

    title = meta.title
    script = detect_script((title or "") + text)
    by_family: Counter[str] = Counter()
    for reason, n in removed.items():
        by_family[family_of(reason)] += n
    provenance = {
        "extractor": f"govbrief-extract {EXTRACTOR_VERSION}",
        "encoding": {"charset": encoding, "from": encoding_from},
        "title": {"from": meta.title_source, "suffix_removed": meta.title_suffix_removed,
                  "original_title": meta.original_title,
                  **({"decorations_removed": meta.title_decorations_removed}
                     if meta.title_decorations_removed else {})},
        "published": {"from": meta.published_source, **({"posted_near": meta.posted_near} if meta.posted_near else {})},
        "source_org": {"from": meta.source_org_source if meta.source_org else None},
        "grid": {"labels": grid.labels, "fields": sorted(grid.fields)} if grid else None,
        "text": {"from": text_source, "lines": len(kept)},
        "removed_by_family": dict(sorted(by_family.items())),
        "removed_by_rule": dict(sorted(removed.items())),
        "warnings": warnings,
    }
    return Article(
        url=url, title=title, text=text,
        published=meta.published, published_source=meta.published_source,
        source_org=meta.source_org, author=meta.author, editor=meta.editor,
        script=script, language=detect_language(text),
        title_simplified=to_simplified(title) if title else None,
        text_simplified=to_simplified(text),
        encoding=encoding, warnings=warnings, title_source=meta.title_source, text_source=text_source,
        doc_number=meta.doc_number, index_no=meta.index_no, issuing_org=meta.issuing_org,
        written_date=meta.written_date, provenance=provenance, posted_near=meta.posted_near,
    )


# ------------------------------------------------------------------ manifests (benchmark, CLI)

def host_of(url: str | None) -> str:
    try:
        return (urlsplit(url or "").hostname or "").lower()
    except ValueError:
        return ""


# The most bytes read of one saved page (`govbrief extract`, manifests): the crawl's DOWNLOAD_MAXSIZE
# (crawler/settings.py; a test keeps the two equal), so a page the crawl would archive can be extracted,
# and a wrong file (a disk image, a video) is refused at once instead of being read whole into memory.
MAX_PAGE_BYTES = 10 * 1024 * 1024


def read_page(name: str) -> bytes:
    """The bytes of a saved page: the file `name`, or standard input for "-" (a text pasted or piped
    in). OSError naming the file when it cannot be read; ValueError when it is larger than MAX_PAGE_BYTES."""
    label = "standard input" if name == "-" else name
    try:
        if name == "-":
            body = sys.stdin.buffer.read(MAX_PAGE_BYTES + 1)
        else:
            with open(name, "rb") as handle:
                body = handle.read(MAX_PAGE_BYTES + 1)
    except OSError as exc:
        raise OSError(f"{label}: {exc.strerror}") from None
    if len(body) > MAX_PAGE_BYTES:
        raise ValueError(f"{label}: larger than {MAX_PAGE_BYTES // (1024 * 1024)} MB, the most a page can be "
                         "(the crawl's download limit): not extracted")
    return body


def extract_manifest(rows: list[dict]) -> Iterator[dict]:
    """Extract every page of a manifest (dicts with id, page (absolute path), url, content_type), each
    on its own, exactly as the crawl would. A page that fails yields {"id", "url", "error"} and the
    run goes on."""
    for row in rows:
        url = row.get("url") or ""
        try:
            body = read_page(row["page"])
            article = extract_article(body, url, row.get("content_type"))
        except Exception as exc:  # one broken page must not stop a benchmark or a re-extraction run
            yield {"id": row.get("id"), "url": url, "error": f"{type(exc).__name__}: {exc}"}
            continue
        if article is None:
            yield {"id": row.get("id"), "url": url, "title": None, "text": "", "published": None,
                   "error": "no article text"}
            continue
        yield {"id": row.get("id"), **article.as_dict()}
