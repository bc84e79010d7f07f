"""Turn raw HTML bytes into text, surviving wrong or missing charset declarations.

Chinese government sites often send GBK/GB2312 bytes with `charset=utf-8` in the HTTP header (or no
header charset at all). Trusting the header then silently turns every Chinese character into U+FFFD.
We try, in order: BOM, the HTTP header, the page's own <meta> charset, then the usual Chinese and
Unicode encodings, and keep the first candidate that decodes cleanly.
"""

from __future__ import annotations

import codecs
import re

from w3lib.encoding import html_body_declared_encoding, http_content_type_encoding, read_bom

# GB2312 and GBK are subsets of GB18030: decoding with the superset never loses a character that
# the page really contains, and rescues pages that declare gb2312 but use GBK-only characters.
_SUPERSETS = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "gb_2312-80": "gb18030",
              "big5": "big5hkscs", "ascii": "utf-8", "us-ascii": "utf-8", "iso-8859-1": "cp1252",
              "latin-1": "cp1252"}
_FALLBACKS = ("utf-8", "gb18030", "big5hkscs")
_CJK = re.compile(r"[\u3400-\u9fff]")


def _normalise(name: str | None) -> str | None:
    if not name:
        return None
    try:
        canonical = codecs.lookup(name.strip().strip("'\"")).name
    except LookupError:
        return None
    return _SUPERSETS.get(canonical, canonical)


def _clean_decode(body: bytes, encoding: str) -> str | None:
    """Decode strictly; None if the bytes are not valid in this encoding."""
    try:
        return body.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None


def content_type_charset(content_type: str | None) -> str | None:
    return http_content_type_encoding(content_type) if content_type else None


def decode_html(body: bytes, content_type: str | None = None) -> tuple[str, str]:
    """Return (text, encoding actually used) for an HTML page's raw bytes."""
    bom_encoding, bom = read_bom(body)
    if bom_encoding:
        return body[len(bom):].decode(bom_encoding, errors="replace"), bom_encoding

    # Valid UTF-8 with multi-byte sequences is practically never an accident, whatever the page
    # declares (real case: a page declaring gb2312 whose bytes are UTF-8).
    as_utf8 = _clean_decode(body, "utf-8")
    if as_utf8 is not None and not as_utf8.isascii():
        return as_utf8, "utf-8"

    candidates: list[str] = []
    for name in (content_type_charset(content_type), html_body_declared_encoding(body[:4096])):
        enc = _normalise(name)
        if enc and enc not in candidates:
            candidates.append(enc)
    for enc in _FALLBACKS:
        if enc not in candidates:
            candidates.append(enc)

    for enc in candidates:
        text = _clean_decode(body, enc)
        if text is None:
            continue
        # cp1252 and friends decode any byte string "cleanly": accept a single-byte reading only
        # when it does not look like mis-decoded CJK (no CJK at all while gb18030 would find some).
        if enc in ("cp1252", "windows-1252", "iso8859-1"):
            as_gb = _clean_decode(body, "gb18030")
            if as_gb and len(_CJK.findall(as_gb)) > 20:
                return as_gb, "gb18030"
        return text, enc

    # Nothing decodes cleanly (truncated or mixed bytes): use the declared or most plausible
    # encoding and mark the broken bytes, so the rest of the page survives.
    best = min(candidates[:3], key=lambda e: body.decode(e, errors="replace").count("\ufffd"))
    return body.decode(best, errors="replace"), best
