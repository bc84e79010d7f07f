"""Project facts from an article's text: a pure function, run for every article and by `reextract`.

`extract_facts(text, published, region)` returns facts in the schema of the synthetic corpora's gold
(docs/facts.md): investment, official, place, count, growth, event_date, each with `offsets`
([start, end) into the ORIGINAL text) and, where it applies, `qualifier`, `admin_code`, `project`.

Traditional-script text is folded to Simplified with OpenCC before matching; offsets and every `text`
/ `name` / `title` are slices of the original, so a Traditional page gives the same facts, written as
the page writes them. The rules' vocabulary is data (rules.yml); the code only assembles it.
"""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path

import yaml

from pipelines.chinese import to_simplified
from pipelines.facts.places import find_places, resolve_place

FACTS_VERSION = 2
RULES_PATH = Path(__file__).with_name("rules.yml")

_CJK = "\u3400-\u9fff"
# Numbers as written in the news: 167.2 / 1,200 / 三十 / 两千 (cn2an converts Chinese numerals).
_NUM = (r"(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
        r"|[零〇一二三四五六七八九十百千两]+(?:点[零〇一二三四五六七八九]+)?)")
_UNIT = r"(?:万亿|千万|百万|亿|万)"
_MULTIPLIER = {"": 1, "万": 10**4, "百万": 10**6, "千万": 10**7, "亿": 10**8, "万亿": 10**12}
_PUNCT = set("，。；：、,.;:!?！？（）()“”\"'《》 \n\t")


def _alternation(words) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


@lru_cache(maxsize=1)
def _rules() -> dict:
    with RULES_PATH.open(encoding="utf-8") as f:
        return yaml.safe_load(f)


@lru_cache(maxsize=1)
def _patterns() -> dict[str, re.Pattern]:
    r = _rules()
    inv = r["investment"]
    currency = _alternation(r["currencies"])
    # "20多亿元" / "5000余万元" / "300万余元": 多/余 (more than) around the unit
    amount = (rf"(?P<qual>{_alternation(inv['qualifiers'])})?(?P<num>{_NUM})?(?P<qual3>多|余)?(?P<unit>{_UNIT})?"
              rf"(?P<qual2>多|余)?(?P<cur>{currency})?")
    off = r["official"]
    level = f"[{off['levels']}]"
    body = _alternation(off["bodies"])
    role = _alternation(off["roles"])
    bureau = rf"[{_CJK}]{{1,{off['bureau_chars']}}}?局"
    part = rf"(?:{level}(?:{body}|{bureau})(?:{role})|(?:常务)?副?代?{level}{off['head_suffix']})"
    bare = _alternation(off["bare_roles"])
    # after 、 the level may go unsaid: a committee seat, then a department head or a zone's committee chair
    unlevelled = rf"(?:{body})(?:{role})"
    title = rf"{part}(?:、(?:{part}|{unlevelled}|{bare}))*"
    count = r["count"]
    units = "".join(count["units"])
    growth = r["growth"]
    return {
        "investment": re.compile(
            rf"(?P<trigger>{_alternation(inv['triggers'])})(?:{_alternation(inv['linkers'])})?{amount}"),
        "official": re.compile(title),
        # 项目 + number + unit ("…项目N个"): projects, then the number
        "count_after": re.compile(rf"项目(?P<num>\d+)(?P<unit>[{units}])"),
        # number + unit + a few words + 项目 + a stage verb ("N个…项目" signed / started): the number first
        "count_before": re.compile(rf"(?P<num>\d+)(?P<unit>[{units}])[{_CJK}]{{0,10}}?项目"
                                   rf"(?:集中)?(?:{_alternation(count['stages'])})"),
        "growth": re.compile(rf"(?:{_alternation(growth['bases'])})(?P<dir>{_alternation(growth['up'])}|"
                             rf"{_alternation(growth['down'])})(?P<num>\d+(?:\.\d+)?)%"),
        # a space may follow 年 in tables and lists ("2014年 4月25日")
        "date": re.compile(r"(?:(?P<y>(?:19|20)\d{2})年 ?)?(?P<m>1[0-2]|0?[1-9])月(?P<d>3[01]|[12]\d|0?[1-9])日"),
        # the project an amount belongs to: the clause right before it ending in 项目, 3+ characters before
        # 项目 (外资项目 / 重点项目 are categories, not names)
        "project": re.compile(r"([^，。；：、\s“”\"的,;]{3,40}?项目)$"),
    }


# Full-width digits and signs (１２个, ３.５％) as ASCII: one character for one, offsets unchanged.
_HALF_WIDTH = str.maketrans("０１２３４５６７８９．％", "0123456789.%")


def fold(text: str) -> str:
    """Simplified, half-width form of `text` with the same length, so offsets found in it hold for the
    original. OpenCC's phrase table may change lengths (rare); then characters are converted one by one."""
    folded = to_simplified(text)
    if len(folded) != len(text):
        folded = "".join(c if len(s := to_simplified(c)) != 1 else s for c in text)
    return folded.translate(_HALF_WIDTH)


def parse_number(num: str) -> Decimal:
    """167.2 / 1,200 / 三十 / 两千 -> Decimal (cn2an for Chinese numerals: 0.003-0.009 ms per call)."""
    if num[0].isdigit():
        return Decimal(num.replace(",", ""))
    if num[0] in "十百千":  # "千亿" / "十万": the leading 一 is implied
        num = "一" + num
    # imported here: loading cn2an compiles its patterns (~0.2 s), which the writer and the lineage
    # step (they import this module for `fold` and the rules) never need
    import cn2an

    return Decimal(str(cn2an.cn2an(num, "smart")))


def _as_number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def _investments(folded: str, original: str) -> list[dict]:
    r = _rules()
    inv = r["investment"]
    facts = []
    for m in _patterns()["investment"].finditer(folded):
        if not m.group("unit") and not (m.group("num") and m.group("cur")):
            continue  # "投资元" is no amount; "投资3" without 万/亿 or 元 is no money
        # the clause before the trigger: "完成项目投资" / "累计完成固定资产投资" report money spent
        clause = re.search(rf"[{_CJK}]{{0,6}}$", folded[max(0, m.start() - 6):m.start()]).group(0)
        if any(w in clause for w in inv["spent_before"]):
            continue
        after = folded[m.end():m.end() + 4]
        if any(after.startswith(w) for w in inv["threshold_after"]):
            continue
        if any(w in clause for w in inv["threshold_before"]):
            continue
        try:
            number = parse_number(m.group("num") or "一")
        except (ValueError, InvalidOperation, KeyError):
            continue
        amount = _as_number(number * _MULTIPLIER[m.group("unit") or ""])
        currency = r["currencies"][m.group("cur")] if m.group("cur") else inv["implied_currency"]
        if currency == "CNY" and amount < inv["min_amount_cny"]:
            continue
        qualifier = m.group("qual") or m.group("qual3") or m.group("qual2")
        fact = {"kind": "investment", "text": original[m.start():m.end()], "amount": amount,
                "amount_cny": amount if currency == "CNY" else None, "currency": currency,
                "offsets": [m.start(), m.end()]}
        if qualifier:
            fact["qualifier"] = qualifier
        project = _patterns()["project"].search(folded[max(0, m.start() - 40):m.start()])
        if project:
            name = project.group(1)
            lead = next((w for w in r["projects"]["lead_words"] if name.startswith(w) and len(name) - len(w) > 3), "")
            p_start = m.start() - len(name) + len(lead)
            fact["project"] = original[p_start:m.start()]
            fact["project_offsets"] = [p_start, m.start()]
        facts.append(fact)
    return facts


def _name_after(folded: str, end: int) -> int:
    """Length (2 or 3) of the personal name starting at `end`, or 0 when none does."""
    off = _rules()["official"]
    chars = folded[end:end + 3]
    if len(chars) < 2 or chars[0] not in off["surnames"]:
        return 0
    if any(c in off["not_in_name"] or not re.match(f"[{_CJK}]", c) for c in chars[1:2]):
        return 0
    followers = tuple(off["followers"])
    for n in (3, 2):
        if len(chars) < n or not re.fullmatch(f"[{_CJK}]{{{n}}}", chars[:n]):
            continue
        if n == 3 and (chars[2] in off["not_in_name"] or folded.startswith(followers, end + 2)):
            continue  # "王昊说，" / "刘淇提出": the third character begins the verb
        rest = folded[end + n:end + n + 4]
        if not rest or rest[0] in _PUNCT or rest.startswith(followers):
            return n
    # nothing after the name tells: three characters, the commoner length of full names in the news
    # unless a function word follows ("由副市长任组长的…": no name at all)
    after = folded[end + 3:end + 4]
    if len(chars) == 3 and re.fullmatch(f"[{_CJK}]{{3}}", chars) and chars[2] not in off["not_in_name"] \
            and (not after or after not in off["not_in_name"]):
        return 3
    return 0


def _officials(folded: str, original: str) -> list[dict]:
    facts = []
    for m in _patterns()["official"].finditer(folded):
        n = _name_after(folded, m.end())
        if not n:
            continue
        facts.append({"kind": "official", "title": original[m.start():m.end()],
                      "name": original[m.end():m.end() + n], "offsets": [m.start(), m.end() + n]})
    return facts


def _counts(folded: str, original: str) -> list[dict]:
    facts, seen = [], set()
    for key in ("count_before", "count_after"):
        for m in _patterns()[key].finditer(folded):
            start = m.start()
            if key == "count_after":  # take the qualifying words before 项目 into the text
                head = re.search(rf"[{_CJK}]{{0,12}}$", folded[max(0, start - 12):start])
                start -= len(head.group(0)) if head else 0
            span = (m.start("num"), m.end("unit"))
            if span in seen:
                continue
            seen.add(span)
            facts.append({"kind": "count", "text": original[start:m.end()], "value": int(m.group("num")),
                          "unit": m.group("unit"), "offsets": [start, m.end()]})
    return facts


def _growths(folded: str, original: str) -> list[dict]:
    down = set(_rules()["growth"]["down"])
    facts = []
    for m in _patterns()["growth"].finditer(folded):
        value = _as_number(Decimal(m.group("num")))
        if m.group("dir") in down:
            value = -value
        facts.append({"kind": "growth", "text": original[m.start():m.end()], "value": value,
                      "offsets": [m.start(), m.end()]})
    return facts


def _parse_published(published: str | None) -> date | None:
    if not published:
        return None
    try:
        return date.fromisoformat(published[:10])
    except ValueError:
        return None


# How far ahead a year-less date may lie and still be read as coming (将于3月5日举行, 3月20日到期的国债):
# reports look back far more than they announce, and rarely more than a quarter ahead
_AHEAD_DAYS = 92


def event_year(month: int, day: int, published: date) -> int:
    """The year of a "M月D日" an article published on `published` speaks of: the next occurrence when it
    lies at most three months ahead (an announcement, a due date), else the latest one on or before publication (a
    12月30日 event in an article of 2 January is last year's; a 2月26日 meeting in a September report is
    this year's, not next)."""
    past, ahead = None, None
    for year in (published.year - 1, published.year, published.year + 1):
        try:
            when = date(year, month, day)
        except ValueError:
            continue  # 2月29日 outside leap years
        if when <= published:
            past = year
        elif ahead is None:
            ahead = year
    if ahead is not None and (date(ahead, month, day) - published).days <= _AHEAD_DAYS:
        return ahead
    if past is not None:
        return past
    return ahead if ahead is not None else published.year


_SENTENCE_END = re.compile(r"[。！？!?；;\n]")
# a year written without a day: "2015年", "2011年10月" (not "2015年度" targets, ranges are fine); the
# year of a full date is one too
_YEAR_MENTION = re.compile(r"((?:19|20)\d{2})年(?: ?(1[0-2]|0?[1-9])月(?!\d|份?\d))?")


def _last_before(years: list[re.Match], at: int) -> re.Match | None:
    """The last year mention (`years`: _YEAR_MENTION matches in text order) starting before `at`."""
    last = None
    for m in years:
        if m.start() >= at:
            break
        last = m
    return last


def _sentence_year(folded: str, years: list[re.Match], start: int, end: int) -> int | None:
    """The one year named in the sentence around folded[start:end] (a date, then a meeting named after
    its year), or None when it names none or several."""
    left = max((m.end() for m in _SENTENCE_END.finditer(folded, 0, start)), default=0)
    right_match = _SENTENCE_END.search(folded, end)
    right = right_match.start() if right_match else len(folded)
    named = {int(m.group(1)) for m in years if left <= m.start() and m.end() <= right}
    return named.pop() if len(named) == 1 else None


# A year named relative to the article's date or to the year written before, right before the date:
# "去年3月20日" (published in January: last year, not the coming March), "2010年7月……同年10月11日".
_RELATIVE_YEAR = {"去年": -1, "上年": -1, "前年": -2, "今年": 0, "本年": 0, "明年": 1}
_SAME_YEAR = ("同年", "当年", "是年")


def _relative_year(folded: str, years: list[re.Match], at: int, pub: date | None) -> int | None:
    before = folded[max(0, at - 2):at]
    if pub is not None and before in _RELATIVE_YEAR:
        return pub.year + _RELATIVE_YEAR[before]
    if before in _SAME_YEAR and (last := _last_before(years, at)) is not None:
        return int(last.group(1))
    return None


def _anchor_before(years: list[re.Match], at: int, full_date: date | None, full_at: int) -> date | None:
    """What a year-less "M月D日" at `at` is read against on a page without a publication date: the last
    year written before it, as a full date (`full_date`, found at `full_at`) or as a bare year or year
    and month."""
    mention = _last_before(years, at)
    if mention is None or (full_date is not None and full_at >= mention.start()):
        return full_date
    year, month = int(mention.group(1)), int(mention.group(2) or 0)
    # a bare year: its middle, so every day of it is within half a year; a month: its middle
    return date(year, month, 15) if month else date(year, 7, 1)


def _event_dates(folded: str, original: str, published: str | None, dated_by: str | None = None,
                 posted_near: str | None = None) -> list[dict]:
    """Dates of the events an article reports. A "M月D日" without a year takes it from the publication
    date; on a page that shows none (wenku copies, speeches), from the last full date written before it
    in the text ("2023年1月14日……1月16日"; or a bare year or year and month: "2011年10月，……10月17日",
    a table's "2015年 | 3月1日"), else from the one year its own sentence names (a meeting named after
    its year), else from `posted_near` (the date of its 上一篇 / 下一篇 links). The
    publication date wins over the text: a text names future deadlines ("2025年6月30日前建成") more often
    than a page misdates itself. `dated_by` (the earliest publication among the copies of this text,
    pipelines.facts.reposts) replaces the page's own date: a 2024 repost of a 2021 briefing speaks of
    2021. Facts dated by either say so in "year_from" ("earliest copy 2021-02-26", "neighbour links …").
    First of all, a year said in words right before the date: 去年 / 今年 / 明年 against the publication
    date, 同年 / 当年 against the year written before it."""
    pub = _parse_published(dated_by) or _parse_published(published)
    year_from = dated_by if _parse_published(dated_by) else None
    near = _parse_published(posted_near)
    facts = []
    text_anchor: date | None = None
    years = list(_YEAR_MENTION.finditer(folded))  # once: the anchors below all read them
    text_anchor_at = -1
    for m in _patterns()["date"].finditer(folded):
        if m.start() > 0 and folded[m.start() - 1].isdigit():
            continue  # "2023年12月" tail of another number
        fact_from = f"earliest copy {year_from}" if year_from and pub is not None else None
        month, day = int(m.group("m")), int(m.group("d"))
        if m.group("y"):
            year = int(m.group("y"))
        elif (relative := _relative_year(folded, years, m.start(), pub)) is not None:
            year = relative
        elif pub is not None:
            year = event_year(month, day, pub)
        elif (anchor := _anchor_before(years, m.start(), text_anchor, text_anchor_at)) is not None:
            year = event_year(month, day, anchor)
        elif (year := _sentence_year(folded, years, m.start(), m.end())) is None:
            if near is None:
                continue  # no year to give it: a date a journalist cannot place is no fact
            year = event_year(month, day, near)
            fact_from = f"neighbour links {posted_near}"
        try:
            when = date(year, month, day)
        except ValueError:
            continue
        fact = {"kind": "event_date", "text": original[m.start():m.end()], "date": when.isoformat(),
                "offsets": [m.start(), m.end()]}
        if m.group("y"):
            text_anchor, text_anchor_at = when, m.start()
        elif fact_from:
            fact["year_from"] = fact_from
        facts.append(fact)
    return facts


def _places(folded: str, original: str, region: str | None) -> list[dict]:
    context = ()
    if region:
        context = tuple(p["admin_code"] for _s, _e, p in find_places(fold(region)))
    facts = []
    for start, end, place in find_places(folded, context):
        facts.append({"kind": "place", "name": original[start:end], "level": place["level"],
                      "admin_code": place["admin_code"], "offsets": [start, end]})
    return facts


def posted_near_of(extraction: str | None) -> str | None:
    """The 上一篇 / 下一篇 date an archived article's extraction provenance (articles.extraction, JSON)
    recorded for a page without a date of its own: what its year-less dates are dated by."""
    if not extraction:
        return None
    try:
        return (json.loads(extraction).get("published") or {}).get("posted_near")
    except (ValueError, AttributeError):
        return None


def event_dates(text: str | None, published: str | None = None, *, dated_by: str | None = None,
                posted_near: str | None = None) -> set[str]:
    """The dates extract_facts gives the events of `text` (what re-dating a repost may change)."""
    if not text:
        return set()
    folded = fold(text)
    return {f["date"] for f in _event_dates(folded, text, published, dated_by, posted_near)}


def has_yearless_date(text: str | None) -> bool:
    """Whether `text` writes a "M月D日" without its year: only those depend on the date it is read at."""
    return bool(text) and any(not m.group("y") for m in _patterns()["date"].finditer(fold(text)))


def extract_facts(text: str | None, published: str | None = None, region: str | None = None, *,
                  dated_by: str | None = None, posted_near: str | None = None) -> list[dict]:
    """Facts of one article, in text order. `published` (YYYY-MM-DD) dates "M月D日" events, unless
    `dated_by` (the earliest publication of the same text elsewhere) is given, or, for a page without
    one, `posted_near` (the date of its 上一篇 / 下一篇 links) when the text gives no year; `region` (the source's
    administrative area, free text) settles places that share a name."""
    if not text:
        return []
    folded = fold(text)
    officials = _officials(folded, text)
    # a place name running into an official's name is part of the name ("市长沙玛" is no 长沙)
    names = [(f["offsets"][1] - len(f["name"]), f["offsets"][1]) for f in officials]
    places = [p for p in _places(folded, text, region)
              if not any(p["offsets"][0] < end and start < p["offsets"][1] for start, end in names)]
    facts = (_investments(folded, text) + officials + _counts(folded, text)
             + _growths(folded, text) + _event_dates(folded, text, published, dated_by, posted_near) + places)
    facts.sort(key=lambda f: (f["offsets"][0], f["kind"]))
    return _first_mentions(facts)


# One fact per official, place and event date of an article (its first mention): an article names its
# county or its party secretary many times, and each is one fact. Amounts, counts and growth rates are
# kept per mention: two equal amounts are usually two projects.
_ONCE = {"official": ("name",), "place": ("admin_code", "name"), "event_date": ("date", "text")}


def _first_mentions(facts: list[dict]) -> list[dict]:
    seen, kept = set(), []
    for fact in facts:
        fields = _ONCE.get(fact["kind"])
        if fields:
            key = (fact["kind"], *(to_simplified(str(fact.get(f))) for f in fields))
            if key in seen:
                continue
            seen.add(key)
        kept.append(fact)
    return kept


__all__ = ["FACTS_VERSION", "event_dates", "event_year", "extract_facts", "fold", "has_yearless_date",
           "parse_number", "posted_near_of", "resolve_place"]
