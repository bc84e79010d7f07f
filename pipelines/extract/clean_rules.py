"""Line-level spam rules for Chinese article text: the data in rules/spam.yml plus a few detectors
that are code rather than regexes (keyword stuffing, lists of dated titles).

A "line" is one paragraph of extracted text, or the text of one leaf block of the DOM: the same
rules run on both (pipelines.extract.clean_dom applies them to blocks before trafilatura, pipelines.extract.article
to trafilatura's output lines), so spam is caught inside and outside the article container.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from pipelines.chinese import cjk_len, simplified_line  # OpenCC itself loads on first use

RULES_PATH = Path(__file__).with_name("rules") / "spam.yml"

_WS = re.compile(r"[\s\u3000\xa0\u200b\ufeff]+")
_DIGITS = re.compile(r"\d+")
# sentence punctuation: an article sentence has some, a title/keyword/nav line usually has none
_SENTENCE_PUNCT = re.compile(r"[。，；！？,;!?：:、]")
_DATE_ANY = re.compile(
    r"(19|20)\d{2}\s*[年\-/.]\s*\d{1,2}\s*[月\-/.]\s*\d{1,2}|\d{1,2}\s*[-/]\s*\d{1,2}\s+\d{1,2}:\d{2}|\d{1,2}月\d{1,2}日"
    r"|[\s(（\[]\d{1,2}-\d{1,2}[)）\]]?$"
)
_ORDINAL = re.compile(r"^\s*(\d{1,3}|[①-⑳])\s*[.、．)]")


# Why the caches below (match_rule, normalise_line): every line of a page is judged several times
# (the DOM pass, the two passes over trafilatura's lines, each detector normalising it again), and a
# site's chrome lines recur on every page of the site; a cache of the last few thousand lines
# answered ~60 % of the calls on the bench site's pages (docs/architecture.md, third session of
# 2026-12-06). Only lines up to CACHED_LINE_CHARS are kept, so a worker's caches stay under a few
# MB whatever it meets (a hostile page of megabyte-long lines is computed, never kept); longer lines
# are prose, which no rule matches (the longest max_len is 400) and no other page repeats.
LINE_CACHE_SIZE = 4096
CACHED_LINE_CHARS = 500


def normalise_line(text: str) -> str:
    """Collapse whitespace (incl. NBSP and U+3000) to single spaces and strip."""
    if text and len(text) > CACHED_LINE_CHARS:
        return _normalise(text)
    return _normalise_cached(text)


def _normalise(text: str | None) -> str:
    return _WS.sub(" ", text or "").strip()


_normalise_cached = lru_cache(maxsize=LINE_CACHE_SIZE)(_normalise)


def fingerprint(line: str) -> str:
    """Identity of a line for per-site boilerplate: no whitespace, digits collapsed.

    Digits vary between pages of one template ("浏览次数：512", dates, ICP numbers) while the
    chrome line stays the same."""
    return _DIGITS.sub("0", _WS.sub("", line or ""))


@dataclass(frozen=True)
class Rule:
    id: str
    kind: str  # drop_line | cut_tail | meta_line
    pattern: re.Pattern[str]
    max_len: int
    zone: str | None  # None = anywhere, "edge" = before the first / after the last paragraph
    comment: str
    long_from: int | None = None  # longer lines must also read like a disclaimer (is_disclaimer_like)
    family: str = "other"  # the structure the rule belongs to (grid, trailer, promotion, chrome ...)


@lru_cache(maxsize=4)
def _load_data(path: str | None = None) -> dict:
    return yaml.safe_load(Path(path or RULES_PATH).read_text(encoding="utf-8"))


@lru_cache(maxsize=4)
def load_vocabulary(path: str | None = None) -> tuple[tuple[re.Pattern[str], ...], re.Pattern[str]]:
    """(disclaimer term families, self-reference pattern) of the rules file."""
    data = _load_data(path)
    terms = tuple(re.compile(t) for t in data.get("disclaimer_terms") or ())
    return terms, re.compile(data.get("self_terms") or r"(?!x)x")


def disclaimer_score(line: str) -> tuple[int, bool]:
    """(distinct families of legal vocabulary in the line, whether it speaks about the site itself)."""
    terms, self_ref = load_vocabulary()
    line = simplified_line(line)
    return sum(1 for t in terms if t.search(line)), bool(self_ref.search(line))


def is_disclaimer_like(line: str) -> bool:
    """Second signal for long lines hit by a disclaimer rule: 2+ legal term families and a word
    for the site itself."""
    n, self_ref = disclaimer_score(line)
    return n >= 2 and self_ref


def is_disclaimer(line: str) -> bool:
    """A disclaimer / copyright notice of any wording: 3+ distinct families of legal vocabulary in
    a line that speaks about the site itself ("本站", "本网", "本文"…), or 4+ families in any line.
    Article paragraphs on copyright law name one or two of them and not the site."""
    text = normalise_line(line)
    if len(text) < 15 or len(text) > 500:
        return False
    n, self_ref = disclaimer_score(text)
    return n >= 4 or (n >= 3 and self_ref)


@lru_cache(maxsize=4)
def load_rules(path: str | None = None) -> tuple[Rule, ...]:
    """Load and compile the rules file once (cached)."""
    data = _load_data(path)
    rules = []
    seen: set[str] = set()
    for item in data["rules"]:
        if item["id"] in seen:
            raise ValueError(f"duplicate rule id {item['id']}")
        seen.add(item["id"])
        if item["kind"] not in ("drop_line", "cut_tail", "meta_line"):
            raise ValueError(f"rule {item['id']}: unknown kind {item['kind']}")
        rules.append(Rule(
            id=item["id"], kind=item["kind"], pattern=re.compile(item["pattern"], re.IGNORECASE),
            max_len=int(item.get("max_len", 120)), zone=item.get("zone"), comment=item.get("comment", ""),
            long_from=int(item["long_from"]) if item.get("long_from") else None,
            family=item.get("family") or "other",
        ))
    return tuple(rules)


# The code detectors (not rules of spam.yml) and the structure family each belongs to.
DETECTOR_FAMILIES = {
    "link-list": "link-list", "link-line": "link-list", "teaser-list": "link-list",
    "dated-title-list": "link-list", "related-heading": "navigation", "pager": "navigation",
    "seo-keyword-stuffing": "seo", "code": "code", "disclaimer-legal": "disclaimer",
    "decorated-marker": "paywall", "date-stamp": "info", "site-plug": "promotion", "grid": "grid",
    "repeat": "repeat", "title": "title", "boilerplate": "learned-boilerplate",
}


def family_of(reason: str) -> str:
    """The structure family of a removal reason (a rule id of spam.yml, a detector, "after-<id>")."""
    reason = reason.removeprefix("after-")
    if reason in DETECTOR_FAMILIES:
        return DETECTOR_FAMILIES[reason]
    for rule in load_rules():
        if rule.id == reason:
            return rule.family
    return reason


def match_rule(line: str, *, edge: bool = True) -> Rule | None:
    """First rule matching this (normalised) line. `edge` says whether the line lies before the first
    or after the last paragraph; rules with zone "edge" only apply there."""
    if line and len(line) > CACHED_LINE_CHARS:
        return _first_rule(line, edge)
    return _first_rule_cached(line, edge)


_rules_in_use: tuple[Rule, ...] | None = None  # None: all of rules/spam.yml (see rules_switched_off)


def forget_lines() -> None:
    """Empty the line caches (match_rule, normalise_line): a timing that repeats the same pages starts
    each pass cold, as a worker meeting them for the first time would."""
    _first_rule_cached.cache_clear()
    _normalise_cached.cache_clear()


@contextmanager
def rules_switched_off(rule_ids: set[str] | frozenset[str]) -> Iterator[None]:
    """Extract with these rules of rules/spam.yml off while the block runs (the leave-one-template-out
    analysis, bench/extract_analysis.py); the answers match_rule remembers are forgotten on the way
    in and out, so none given under one rule set is reused under the other."""
    global _rules_in_use
    before = _rules_in_use
    _rules_in_use = tuple(r for r in load_rules() if r.id not in rule_ids)
    forget_lines()
    try:
        yield
    finally:
        _rules_in_use = before
        forget_lines()


def _first_rule(line: str, edge: bool) -> Rule | None:
    text = normalise_line(line)
    if not text:
        return None
    n = len(text)
    text = simplified_line(text)
    for rule in _rules_in_use if _rules_in_use is not None else load_rules():
        if n > rule.max_len or (rule.zone == "edge" and not edge):
            continue
        if rule.pattern.search(text):
            if rule.long_from is not None and n > rule.long_from and not is_disclaimer_like(text):
                continue
            return rule
    return None


_first_rule_cached = lru_cache(maxsize=LINE_CACHE_SIZE)(_first_rule)


def is_keyword_stuffing(line: str) -> bool:
    """SEO keyword stuffing: many short space-separated phrases, no sentence punctuation.

    e.g. a row of near-identical service names an SEO page repeats for search engines, or a footer
    nav row. Article sentences carry punctuation; a title with one space has two segments only."""
    text = normalise_line(line)
    segments = [s for s in text.split(" ") if s]
    if len(segments) < 4 or _SENTENCE_PUNCT.search(text):
        return False
    if cjk_len(text) < 8:
        return False
    return all(len(s) <= 30 for s in segments)


_CODE_CHARS = re.compile(r"[{};=<>]")


def is_code(line: str) -> bool:
    """Style sheet or script text that leaked into the page text (an unclosed or self-closed
    <style/>): braces, semicolons and equals signs, hardly any CJK."""
    text = normalise_line(line)
    if len(text) < 12 or cjk_len(text) > 0.1 * len(text):
        return False
    return len(_CODE_CHARS.findall(text)) >= 3 and ("{" in text or "}" in text or ";" in text)


_PAGER_WORDS = re.compile(r"[\d\s\[\]【】<>《》«»‹›…._\-共第]+|上一页|下一页|首页|尾页|末页|页")  # simplified_line


def is_pager(line: str) -> bool:
    """A pager or calendar row: 3+ consecutive small numbers and nothing else but arrows/labels
    ("1 2 3 4 5 下一页", "| 1 | 2 | … | 31 |")."""
    text = normalise_line(line.replace("|", " "))
    nums = re.findall(r"\d+", text)
    if len(nums) < 3 or cjk_len(text) > 6:
        return False
    rest = _PAGER_WORDS.sub("", simplified_line(text))
    if rest:
        return False
    values = [int(x) for x in nums if len(x) <= 3]
    return len(values) == len(nums) and all(b == a + 1 for a, b in zip(values, values[1:], strict=False))


_DECORATION = r"[.。…\-—=_*·~～#+]"
_DECORATED = re.compile(rf"^{_DECORATION}{{3,}}\s*[^.。…\-—=_*·~～#+]{{1,16}}\s*{_DECORATION}{{3,}}$")


def is_decorated_marker(line: str) -> bool:
    """A short phrase framed by runs of dots, dashes or stars (three or more on each side, a few words
    between: an end-of-preview or advertisement marker): a marker of the page, never a sentence of
    the article."""
    return bool(_DECORATED.match(normalise_line(line)))


_DOMAIN = re.compile(
    r"(https?://|www\.|\b[a-z0-9\-]{2,}\.(com|cn|net|org|cc|top|vip|xyz|info|com\.cn|net\.cn)\b)", re.IGNORECASE)
_LABELLED = re.compile(
    r"^[^，。,:：]{0,12}(网址|网站|官网|链接|地址|邮箱|e-?mail|详见|登录)\s*[:：]",
    re.IGNORECASE)


def is_site_plug(line: str) -> bool:
    """A short line advertising a site by its domain (a site name and its domain, or a reprint request
    ending in the site's URL), not a sentence and not a labelled address of a notice (an address after
    a 网址 / 邮箱 label is content). Applied at the edges of the article only."""
    text = normalise_line(line)
    if len(text) > 80 or "。" in text or not _DOMAIN.search(text):
        return False
    return not _LABELLED.match(simplified_line(text))


_DATETIME = re.compile(r"(19|20)\d{2}\s*[年\-/.]\s*\d{1,2}\s*[月\-/.]\s*\d{1,2}\s*日?\s*\d{1,2}:\d{2}(:\d{2})?")


def is_stamp(line: str) -> bool:
    """A date-time stamp with a word or two (a date and time before or after a short verb such as
    发布于 / 编辑于): at the edges of the article it is page metadata."""
    text = normalise_line(line)
    m = _DATETIME.search(text)
    if not m or len(text) > 40:
        return False
    rest = text[:m.start()] + text[m.end():]
    return cjk_len(rest) <= 6 and not _SENTENCE_PUNCT.search(rest.replace(":", "").replace("：", ""))


def is_dated_title(line: str) -> bool:
    """A teaser-list item: a short headline with a date, or a numbered headline, no sentence."""
    text = normalise_line(line)
    if not text or len(text) > 70:
        return False
    if _SENTENCE_PUNCT.search(_DATE_ANY.sub("", text).replace(":", "")):
        return False
    return bool(_DATE_ANY.search(text) or _ORDINAL.match(text))


def is_paragraph(line: str) -> bool:
    """A line that is article prose (used to find the article's first and last lines): long, or a
    full sentence (short notices are made of short sentences)."""
    text = normalise_line(line)
    return len(text) >= 40 or (len(text) >= 12 and text.endswith(("。", "！", "？")))


_TEASER_END = re.compile(r"(\.{3}|…|。{3})\s*$")


def is_prose(line: str) -> bool:
    """A full sentence paragraph, not a teaser: 40+ characters, sentence punctuation, no trailing
    ellipsis (teaser excerpts of related lists end with "..." / "…")."""
    text = normalise_line(line)
    return len(text) >= 40 and "。" in text and not _TEASER_END.search(text)


@dataclass
class LineVerdict:
    line: str
    rule: str | None  # None = kept


def _prose_len(verdicts: list[LineVerdict]) -> int:
    """CJK characters in the kept prose paragraphs (is_prose) of these lines."""
    return sum(cjk_len(v.line) for v in verdicts if v.rule is None and is_prose(v.line))


_TABLE_ROW = re.compile(r"^\|.*\|$")
_CELL_SPLIT = re.compile(r"(?<!\\)\|")
_MIN_REPEAT = 20  # a repeated line at least this long is a copy, not a refrain


def table_cells(line: str) -> list[str] | None:
    """The cells of a table row as trafilatura writes it ("| a | b |"), None for other lines."""
    text = (line or "").strip()
    if len(text) < 2 or not _TABLE_ROW.match(text):
        return None
    # trafilatura escapes a "|" inside a cell as "\|"
    return [normalise_line(c.replace("\\|", "|")) for c in _CELL_SPLIT.split(text[1:-1])]


def clean_lines(lines: list[str], *, title: str | None = None,
                boilerplate: frozenset[str] | None = None) -> tuple[list[str], list[LineVerdict]]:
    """Apply every line rule to the article's lines. Returns (kept lines, verdict per line).

    Table rows ("| a | b |") are judged cell by cell (an info row "| 编辑：X | 来源：Y |" is as much
    metadata as the same text in two lines) and put back together from their kept cells; the
    verdicts are then per cell."""
    units: list[tuple[int | None, str]] = []
    for row, line in enumerate(lines):
        cells = table_cells(line)
        if cells is None or is_pager(line):
            units.append((None, line))  # a pager / calendar row is judged whole
        else:
            units.extend((row, c) for c in cells if c)
    kept_units, verdicts = _clean_units([u[1] for u in units], title=title, boilerplate=boilerplate,
                                        cells={i for i, u in enumerate(units) if u[0] is not None})
    kept: list[str] = []
    row_cells: dict[int, list[str]] = {}
    order: list[tuple[str, int | str]] = []
    for (row, _), verdict in zip(units, verdicts, strict=True):
        if verdict.rule is not None:
            continue
        if row is None:
            order.append(("line", verdict.line))
        else:
            if row not in row_cells:
                row_cells[row] = []
                order.append(("row", row))
            row_cells[row].append(verdict.line)
    for kind, value in order:
        if kind == "line":
            kept.append(value)  # type: ignore[arg-type]
        else:
            cells = row_cells[value]  # type: ignore[index]
            kept.append(cells[0] if len(cells) == 1 else "| " + " | ".join(cells) + " |")
    del kept_units
    return kept, verdicts


def _clean_units(lines: list[str], *, title: str | None = None, boilerplate: frozenset[str] | None = None,
                 cells: set[int] | frozenset[int] = frozenset()) -> tuple[list[str], list[LineVerdict]]:
    """clean_lines on plain lines. Order matters: lines that are spam by themselves go first, so
    that the "edge" zone and the cut_tail guard ("some article text came before") are computed on
    what remains."""
    verdicts = [LineVerdict(normalise_line(x), None) for x in lines]
    title_fp = fingerprint(title) if title else None

    # 1. self-evident spam: drop_line rules, learned boilerplate, keyword stuffing, the headline,
    #    repeats (an article does not restate a whole paragraph: a second copy is a print view,
    #    a hidden mobile copy or a teaser of itself)
    seen_fps: set[str] = set()
    for i, v in enumerate(verdicts):
        if not v.line or not v.line.strip("|｜ "):
            v.rule = "empty"  # also what is left of a table row whose cells all went
            continue
        fp = fingerprint(v.line)
        if i not in cells:  # table cells repeat legitimately ("同上", the same course list)
            if len(fp) >= _MIN_REPEAT and fp in seen_fps:
                v.rule = "repeat"
                continue
            seen_fps.add(fp)
        rule = match_rule(v.line, edge=True)
        if title_fp and fp == title_fp:
            v.rule = "title"
        elif rule is not None and rule.kind == "cut_tail":
            continue  # a marker: judged in pass 2, where it also takes the lines after it
        elif boilerplate and fp in boilerplate:
            v.rule = "boilerplate"
        elif is_keyword_stuffing(v.line):
            v.rule = "seo-keyword-stuffing"
        elif is_code(v.line):
            v.rule = "code"
        elif is_pager(v.line):
            v.rule = "pager"
        elif is_disclaimer(v.line):
            v.rule = "disclaimer-legal"
        elif rule is not None and rule.kind == "drop_line":
            v.rule = rule.id
        elif rule is None and is_decorated_marker(v.line):
            v.rule = "decorated-marker"

    # 2. cut_tail markers: everything after them goes, once article text came before
    seen_text = False
    cut_from = None
    for i, v in enumerate(verdicts):
        if v.rule is not None:
            continue
        rule = match_rule(v.line, edge=True)
        if rule is not None and rule.kind == "cut_tail":
            if seen_text and rule.id == "nav-related-heading" and any(
                    w.rule is None and is_prose(w.line) for w in verdicts[i + 1:]):
                continue  # "相关链接" heading an editorial box of background paragraphs: article text
            v.rule = rule.id
            if seen_text and _prose_len(verdicts[i + 1:]) > 2 * _prose_len(verdicts[:i]):
                continue  # a marker in a sidebar or header: the article is what follows it
            if seen_text:
                cut_from = i
                break
            continue
        if cjk_len(v.line) >= 15 and not is_dated_title(v.line):
            seen_text = True
    if cut_from is not None:
        for v in verdicts[cut_from + 1:]:
            if v.rule is None:
                v.rule = "after-" + (verdicts[cut_from].rule or "cut")

    # 3. runs of dated titles (teaser lists that survived the DOM pass): 3+ in a row
    i = 0
    while i < len(verdicts):
        if verdicts[i].rule is None and is_dated_title(verdicts[i].line):
            j = i
            run = []
            while j < len(verdicts) and (verdicts[j].rule is not None or is_dated_title(verdicts[j].line)):
                if verdicts[j].rule is None:
                    run.append(j)
                j += 1
            if len(run) >= 3:
                for k in run:
                    verdicts[k].rule = "dated-title-list"
            i = j
        else:
            i += 1

    # 4. metadata lines (info line under the headline, contributor notes), zone-aware
    kept_idx = [i for i, v in enumerate(verdicts) if v.rule is None]
    para_idx = [i for i in kept_idx if is_paragraph(verdicts[i].line)]
    first_para = para_idx[0] if para_idx else len(verdicts)
    last_para = para_idx[-1] if para_idx else -1
    for i in kept_idx:
        v = verdicts[i]
        edge = i < first_para or i > last_para
        rule = match_rule(v.line, edge=edge)
        if rule is not None and rule.kind == "meta_line":
            v.rule = rule.id
        elif edge and is_stamp(v.line):
            v.rule = "date-stamp"
        elif edge and is_site_plug(v.line):
            v.rule = "site-plug"

    kept = [v.line for v in verdicts if v.rule is None]
    return kept, verdicts
