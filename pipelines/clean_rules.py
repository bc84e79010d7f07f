"""Line-level spam rules for Chinese article text: the data in rules/spam.yml plus a few detectors
that are code rather than regexes (keyword stuffing, lists of dated titles).

A "line" is one paragraph of extracted text, or the text of one leaf block of the DOM: the same
rules run on both (pipelines.clean_dom applies them to blocks before trafilatura, pipelines.extract
to trafilatura's output lines), so spam is caught inside and outside the article container.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

RULES_PATH = Path(__file__).with_name("rules") / "spam.yml"

_WS = re.compile(r"[\s\u3000\xa0\u200b\ufeff]+")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_DIGITS = re.compile(r"\d+")
# sentence punctuation: an article sentence has some, a title/keyword/nav line usually has none
_SENTENCE_PUNCT = re.compile(r"[。，；！？,;!?：:、]")
_DATE_ANY = re.compile(
    r"(19|20)\d{2}\s*[年\-/.]\s*\d{1,2}\s*[月\-/.]\s*\d{1,2}|\d{1,2}\s*[-/]\s*\d{1,2}\s+\d{1,2}:\d{2}|\d{1,2}月\d{1,2}日"
)
_ORDINAL = re.compile(r"^\s*(\d{1,3}|[①-⑳])\s*[.、．)]")


def normalise_line(text: str) -> str:
    """Collapse whitespace (incl. NBSP and U+3000) to single spaces and strip."""
    return _WS.sub(" ", text or "").strip()


def fingerprint(line: str) -> str:
    """Identity of a line for per-site boilerplate: no whitespace, digits collapsed.

    Digits vary between pages of one template ("浏览次数：512", dates, ICP numbers) while the
    chrome line stays the same."""
    return _DIGITS.sub("0", _WS.sub("", line or ""))


def cjk_len(text: str) -> int:
    return len(_CJK.findall(text or ""))


@dataclass(frozen=True)
class Rule:
    id: str
    kind: str  # drop_line | cut_tail | meta_line
    pattern: re.Pattern[str]
    max_len: int
    zone: str | None  # None = anywhere, "edge" = before the first / after the last paragraph
    comment: str


@lru_cache(maxsize=4)
def load_rules(path: str | None = None) -> tuple[Rule, ...]:
    """Load and compile the rules file once (cached)."""
    data = yaml.safe_load(Path(path or RULES_PATH).read_text(encoding="utf-8"))
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
        ))
    return tuple(rules)


def match_rule(line: str, *, edge: bool = True) -> Rule | None:
    """First rule matching this (normalised) line. `edge` says whether the line lies before the first
    or after the last paragraph; rules with zone "edge" only apply there."""
    text = normalise_line(line)
    if not text:
        return None
    n = len(text)
    for rule in load_rules():
        if n > rule.max_len or (rule.zone == "edge" and not edge):
            continue
        if rule.pattern.search(text):
            return rule
    return None


def is_keyword_stuffing(line: str) -> bool:
    """SEO keyword stuffing: many short space-separated phrases, no sentence punctuation.

    e.g. "XX劳务派遣公司  XX临时工派遣公司  XX临时工派遣中介 ..." or a footer nav row. Article
    sentences carry punctuation; a title with one space has two segments only."""
    text = normalise_line(line)
    segments = [s for s in text.split(" ") if s]
    if len(segments) < 4 or _SENTENCE_PUNCT.search(text):
        return False
    if cjk_len(text) < 8:
        return False
    return all(len(s) <= 30 for s in segments)


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


def clean_lines(lines: list[str], *, title: str | None = None,
                boilerplate: frozenset[str] | None = None) -> tuple[list[str], list[LineVerdict]]:
    """Apply every line rule to the article's lines. Returns (kept lines, verdict per input line).

    Order matters: lines that are spam by themselves go first, so that the "edge" zone and the
    cut_tail guard ("some article text came before") are computed on what remains."""
    verdicts = [LineVerdict(normalise_line(x), None) for x in lines]
    title_fp = fingerprint(title) if title else None

    # 1. self-evident spam: drop_line rules, learned boilerplate, keyword stuffing, the headline
    for v in verdicts:
        if not v.line:
            v.rule = "empty"
            continue
        fp = fingerprint(v.line)
        if title_fp and fp == title_fp:
            v.rule = "title"
        elif boilerplate and fp in boilerplate:
            v.rule = "boilerplate"
        elif is_keyword_stuffing(v.line):
            v.rule = "seo-keyword-stuffing"
        else:
            rule = match_rule(v.line, edge=True)
            if rule is not None and rule.kind == "drop_line":
                v.rule = rule.id

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
        rule = match_rule(v.line, edge=(i < first_para or i > last_para))
        if rule is not None and rule.kind == "meta_line":
            v.rule = rule.id

    kept = [v.line for v in verdicts if v.rule is None]
    return kept, verdicts
