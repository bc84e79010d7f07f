"""Chinese text helpers: script (simplified/traditional), language, Traditional -> Simplified."""

from __future__ import annotations

import operator
import re
from functools import lru_cache
from itertools import islice

# A Chinese character, as every count of "Chinese text" in govbrief means it (extraction, decoding,
# script and language): the CJK Unified Ideographs with Extension A (U+3400-U+9FFF) and the
# Compatibility Ideographs (U+F900-U+FAFF). Two other ranges differ on purpose: the search index folds
# the supplementary planes too (search_index._CJK_RANGES: rare characters must still be found), and the
# facts' name patterns leave the compatibility ideographs out (pipelines/facts/extract.py).
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_NOT_CJK = re.compile("[^" + CJK.pattern[1:-1] + "]+")  # runs of anything CJK does not match


def cjk_len(text: str | None) -> int:
    """CJK characters in the text (what is left once everything else is removed: one string instead
    of findall's list of one-character strings, half the time)."""
    return len(_NOT_CJK.sub("", text or ""))


def has_cjk(text: str, at_least: int) -> bool:
    """Whether the text holds at least this many CJK characters (stops there: a whole page's
    findall, a list of every character, only to compare its length with 5 or 20)."""
    return next(islice(CJK.finditer(text), at_least - 1, None), None) is not None


@lru_cache(maxsize=1)
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


@lru_cache(maxsize=1)
def _s2t():
    import opencc

    return opencc.OpenCC("s2t")


def to_simplified(text: str) -> str:
    """Simplified form for search and comparison; the stored original stays untouched."""
    return _t2s().convert(text) if text else text


@lru_cache(maxsize=1)
def _traditional_chars() -> re.Pattern[str]:
    """A character class of the CJK characters OpenCC's t2s changes (the traditional-only ones).
    One OpenCC call, one character per line (no neighbours, so no phrase), as search_index.fold_table
    builds its table: ~4x faster than a call per character, in every process that extracts."""
    chars = [chr(cp) for cp in range(0x3400, 0xA000)]
    converted = _t2s().convert("\n".join(chars)).split("\n")
    return re.compile("[" + "".join(c for c, s in zip(chars, converted, strict=True) if s != c) + "]")


def simplified_line(text: str) -> str:
    """The text in simplified characters, for matching, with the same length as the text.

    Rules and labels (spam rules, info-line and catalogue-grid labels, soft-404 notices) are written
    once, in simplified Chinese, and match a traditional-script page through this: a match's offsets
    hold for the original, so values are cut from the original and keep its script. OpenCC runs only
    on text that holds a traditional character (most lines have none); its phrase table may change a
    length (rare), then characters are converted one by one."""
    return _simplified_short(text) if len(text) <= _CACHED_CHARS else _simplified_same_length(text)


_CACHED_CHARS = 300  # lines, not pages: the cache holds at most 8192 x 300 characters


@lru_cache(maxsize=8192)  # lines repeat: a site's chrome on every page, the same line tried by many rules
def _simplified_short(text: str) -> str:
    return _simplified_same_length(text)


def _simplified_same_length(text: str) -> str:
    if not _traditional_chars().search(text):
        return text
    simplified = to_simplified(text)
    if len(simplified) != len(text):
        simplified = "".join(s if len(s := to_simplified(c)) == 1 else c for c in text)
    return simplified


def detect_script(text: str) -> str | None:
    """'hans' or 'hant', from the characters themselves.

    A character counts as traditional when t2s changes it and as simplified when s2t changes it;
    characters common to both scripts say nothing. None when the text has no Chinese.
    """
    chars = CJK.findall(text or "")
    if not chars:
        return None
    sample = "".join(chars[:4000])
    simplified, traditional = _t2s().convert(sample), _s2t().convert(sample)
    # characters that differ, position by position (map stops at the shorter string, as zip does)
    n_trad = sum(map(operator.ne, sample, simplified))
    n_simp = sum(map(operator.ne, sample, traditional))
    return "hant" if n_trad > n_simp else "hans"


def detect_language(text: str) -> str | None:
    """ISO language code. Chinese is decided by the share of CJK characters (langdetect labels
    Traditional Chinese as Korean); other text goes to langdetect with a fixed seed."""
    if not text:
        return None
    letters = sum(map(str.isalpha, text))  # counted in C: a page is thousands of characters
    if not letters:
        return None
    if sum(map(str.isalpha, CJK.findall(text))) / letters > 0.3:
        return "zh"
    from langdetect import DetectorFactory, LangDetectException, detect

    DetectorFactory.seed = 0
    try:
        return detect(text[:2000])
    except LangDetectException:
        return None
