"""Plain text as the page the extractor reads: one paragraph a line, the headline marked.

Articles also arrive without markup: a page saved or copied as text, the text dumps content farms and
document-sharing sites publish, a page served as HTML with only text in it. Parsed as HTML, such a text
is one paragraph: no block is a headline, no line an info line, so the title and the date were lost
although the text shows both, laid out as a news page lays them out:

    [a few chrome or spam lines: hotline, breadcrumb]
    headline
    [info line: byline, date, 来源]          (optional)
    [subtitle, lead-in]
    prose ...

`as_html(text)` writes that layout as HTML (every line a <p>, the headline an <h1>), so the extractor's
structural rules apply unchanged: the headline rule, the info-line rules (the date and 来源 read from
the lines after the headline), the line rules that drop chrome and spam. The headline is the first line
of the top of the text (before the first line of prose) that reads like one: short, no full stop, no
date, no line a cleaning rule knows (so a hotline or breadcrumb above it is passed over).
"""

from __future__ import annotations

import html
import re

from pipelines.extract.clean_rules import normalise_line
from pipelines.extract.metadata_cn import BREADCRUMB, headline_like, prose_line

# Markup: an element's start or end tag, a comment or a doctype. A text with none of these is plain
# text, whatever its Content-Type says (servers label HTML text/plain and text text/html).
_MARKUP = re.compile(r"<(?:[a-zA-Z][a-zA-Z0-9]*(?:\s[^<>]*)?/?>|/[a-zA-Z][a-zA-Z0-9]*\s*>|!--|!doctype)",
                     re.IGNORECASE)
PLAIN_TEXT_HEADLINE = "plain-text-headline"  # the title's provenance (title.from) when this module chose it
HEADER_LINES = 12  # non-empty lines looked at for the headline: the top of the text, before the prose


# What text files do not hold: C0 control characters other than whitespace, and the replacement
# character of bytes no encoding read. Binary bytes served as a page (an image behind a text/html
# header) decode to a text full of both, and without a single tag.
_NOT_TEXT = re.compile("[\x00-\x08\x0e-\x1f\ufffd]")
NOT_TEXT_PER_MILLE = 1  # a stray form feed or DOS end-of-file mark is text; a tenth of the characters is not


def is_plain_text(text: str) -> bool:
    """A text, not an HTML page (nor an HTML fragment) and not binary bytes: no markup at all, and at
    most NOT_TEXT_PER_MILLE characters in a thousand that no text file holds."""
    if _MARKUP.search(text) is not None:
        return False
    return len(_NOT_TEXT.findall(text)) * 1000 <= NOT_TEXT_PER_MILLE * max(1, len(text))


def headline_index(lines: list[str]) -> int | None:
    """Index in `lines` (normalised, non-empty) of the headline: the first headline-like line before
    the first line of prose, among the first HEADER_LINES. None: the text starts with its prose."""
    for i, line in enumerate(lines[:HEADER_LINES]):
        if prose_line(line):
            return None
        if headline_like(line) and not BREADCRUMB.search(line):
            return i
    return None


def as_html(text: str) -> str:
    """The text as an HTML page: a <p> per non-empty line, the headline (headline_index) an <h1>."""
    lines = [line for line in (normalise_line(raw) for raw in text.splitlines()) if line]
    headline = headline_index(lines)
    body = "\n".join(f"<h1>{html.escape(line)}</h1>" if i == headline else f"<p>{html.escape(line)}</p>"
                     for i, line in enumerate(lines))
    return f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head><body>\n{body}\n</body></html>\n"
