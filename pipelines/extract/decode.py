"""Turn raw HTML bytes into text, surviving wrong or missing charset declarations.

Chinese government sites often send GBK/GB2312 bytes with `charset=utf-8` in the HTTP header (or no
header charset at all), and Taiwanese / Hong Kong pages send Big5 declared as GB18030 or not at all.
Trusting a declaration then silently turns every Chinese character into U+FFFD or into mojibake that
decodes "cleanly" (GB18030 accepts almost any byte pair). So every reading is checked:

  1. a byte-order mark (unambiguous: the bytes after it are in that encoding);
  2. the HTTP header charset, then the page's own <meta> charset, then UTF-8;
  3. detection with charset_normalizer (the library requests and pip use; it ranks candidate
     encodings by the coherence of the decoded text) plus GB18030 and Big5-HKSCS,
     whenever the declared readings fail: a reading fails when it does not decode strictly or
     when its characters are implausible (`plausibility`: the share of CJK characters that are
     common characters of Simplified or Traditional Chinese, private-use and control characters).

Big5 and GB18030 overlap in their byte ranges: Big5 bytes read as GB18030 give rare characters,
so the more plausible reading wins. A page that no reading decodes cleanly is decoded with the
fewest U+FFFD and a warning (kept in the article's extraction provenance).
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from functools import lru_cache

from w3lib.encoding import html_body_declared_encoding, http_content_type_encoding, read_bom

from pipelines.chinese import CJK, has_cjk

# GB2312 and GBK are subsets of GB18030: decoding with the superset never loses a character that
# the page really contains, and rescues pages that declare gb2312 but use GBK-only characters.
_SUPERSETS = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "gb_2312-80": "gb18030",
              "big5": "big5hkscs", "cp950": "big5hkscs", "ascii": "utf-8", "us-ascii": "utf-8",
              "iso-8859-1": "cp1252", "latin-1": "cp1252", "latin_1": "cp1252"}
_DETECTION_FALLBACKS = ("utf-8", "gb18030", "big5hkscs")
# characters no Chinese page shows as text: private use, C1 controls, replacement character
_IMPLAUSIBLE = re.compile(r"[\ue000-\uf8ff\x80-\x9f\ufffd]")
_SAMPLE = 3000  # CJK characters judged per reading (enough to tell a language from mojibake)
PLAUSIBLE = 0.9


@dataclass
class Decoded:
    text: str
    encoding: str
    how: str  # bom | header | meta | utf-8 | detected | replaced
    warnings: list[str] = field(default_factory=list)


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


@lru_cache(maxsize=65536)
def _common_char(ch: str) -> bool:
    """A character of GB2312 level 1 (the 3,755 common Simplified characters), of Big5's common
    characters (5,401, lead bytes A4-C6) or a CJK punctuation / full-width form."""
    code = ord(ch)
    if code < 0x3400 or 0xff00 <= code <= 0xffef:
        return True
    try:
        gb = ch.encode("gb2312")
        if 0xb0 <= gb[0] <= 0xd7:
            return True
    except UnicodeEncodeError:
        pass
    try:
        b5 = ch.encode("big5")
        return 0xa4 <= b5[0] <= 0xc6
    except UnicodeEncodeError:
        return False


def plausibility(text: str) -> float:
    """1.0 for text that reads like Chinese (or has no CJK at all), near 0 for mojibake."""
    cjk = CJK.findall(text)[:_SAMPLE]
    bad = len(_IMPLAUSIBLE.findall(text[:20000]))
    if not cjk:
        return 1.0 if bad == 0 else 0.0
    common = sum(map(_common_char, cjk))  # bools: the loop stays in C
    return max(0.0, (common - bad) / len(cjk))


def content_type_charset(content_type: str | None) -> str | None:
    return http_content_type_encoding(content_type) if content_type else None


def decode_page(body: bytes, content_type: str | None = None) -> Decoded:
    """Decode an HTML page's raw bytes; says which declaration (or detection) gave the reading."""
    bom_encoding, bom = read_bom(body)
    if bom_encoding:
        text = _clean_decode(body[len(bom):], bom_encoding)
        if text is not None:
            return Decoded(text, bom_encoding, "bom")

    declared: list[tuple[str, str]] = []
    for how, name in (("header", content_type_charset(content_type)),
                      ("meta", html_body_declared_encoding(body[:4096]))):
        enc = _normalise(name)
        if enc and enc not in [e for _, e in declared]:
            declared.append((how, enc))
    if "utf-8" not in [e for _, e in declared]:
        declared.append(("utf-8", "utf-8"))

    for how, enc in declared:
        text = _clean_decode(body, enc)
        if text is None:
            continue
        if not has_cjk(text, 5) and has_cjk(body.decode("gb18030", "replace"), 21):
            continue  # a Latin-1 declaration on a Chinese page: any byte string "decodes" as cp1252
        if plausibility(text) >= PLAUSIBLE:
            return Decoded(text, enc, how)

    # detection: every strict reading, the most plausible wins (declared ones first on ties)
    candidates = [enc for _, enc in declared]
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(body[:200_000]).best()
        if best is not None and (enc := _normalise(best.encoding)) and enc not in candidates:
            candidates.append(enc)
    except Exception:  # noqa: BLE001 - detection is a hint; the fallbacks below still run
        pass
    candidates += [enc for enc in _DETECTION_FALLBACKS if enc not in candidates]
    scored = []
    chinese = has_cjk(body.decode("gb18030", "replace"), 21)
    for order, enc in enumerate(candidates):
        text = _clean_decode(body, enc)
        if text is None:
            continue
        # a single-byte reading (Cyrillic, Latin) of a page full of double-byte characters is no reading
        score = plausibility(text) if not (chinese and not has_cjk(text, 5)) else 0.0
        if score > 0:
            scored.append((score, -order, enc, text))
    if scored:
        score, _, enc, text = max(scored)
        warnings = [f"charset-guessed: {enc}" + (f" (declared {declared[0][1]})" if declared[0][0] != "utf-8" else "")]
        if score < PLAUSIBLE:
            warnings.append(f"charset-implausible: {score:.2f} of the characters are common")
        return Decoded(text, enc, "detected", warnings)

    # Nothing decodes cleanly (truncated or mixed bytes): the reading with the fewest broken bytes,
    # marked, so the rest of the page survives and the archive says why
    if chinese:
        candidates = [enc for enc in candidates if enc in _DETECTION_FALLBACKS or enc.startswith(("gb", "big5"))]
    best_enc = min(candidates[:4], key=lambda e: body.decode(e, errors="replace").count("\ufffd"))
    text = body.decode(best_enc, errors="replace")
    return Decoded(text, best_enc, "replaced",
                   [f"charset-undecodable: {text.count(chr(0xfffd))} bytes replaced reading {best_enc}"])


def decode_html(body: bytes, content_type: str | None = None) -> tuple[str, str]:
    """Return (text, encoding actually used) for an HTML page's raw bytes."""
    decoded = decode_page(body, content_type)
    return decoded.text, decoded.encoding
