"""Administrative places (province / city / district / county) with their GB/T 2260 codes.

The table is the one jionlp ships (`jionlp/dictionary/china_location.zip`: name, code and a short name for
every province, prefecture and county-level unit, kept current: 罗江区, 淮阳区, 赣县区 …); no place table
is written by hand here. cpca ships a similar table but an older one (it still lists 罗江县, 淮阳县, 赣县,
which became districts in 2017-2019: 5 of the 147 distinct places the synthetic-dev gold names), and its
`transform` parses one address per string through pandas (5.7 ms for one sentence). jionlp's own
`parse_location` takes 13 ms per sentence and `recognize_location` 680 ms per article (docs/facts.md),
so neither is called on article text: the table is read once (0.13 s, without importing jionlp, whose
import alone takes 0.4 s) and text is scanned with an Aho-Corasick automaton (pyahocorasick).

`resolve_place(name)` is the reusable part (the UI's region levels use it): name -> level, code and the
province / city / county it belongs to.
"""

from __future__ import annotations

import importlib.util
import re
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import ahocorasick

# What follows a city's short name when it opens the name of a company or institution rather than
# naming the place: "金昌环保科技有限公司", "厦门大学" (no punctuation in between).
_INSTITUTION_AFTER = re.compile(r"[^，。；：、,.;:\s（）()“”]{0,10}?(?:有限公司|公司|集团|大学|学院|银行)")

# A line of the place table at depth 0-2 (province, prefecture, county level): at most two leading tabs,
# matched with the newline before it. A pattern that opens with a literal lets the regex engine jump
# from newline to newline; `^` in MULTILINE mode is tried at every one of the table's 12 million
# positions instead (0.13 s against 0.07 on this machine).
_UPPER_LEVELS = re.compile(rb"\n(\t{0,2}[^\t\n][^\n]*)")


def upper_level_lines(raw: bytes) -> list[str]:
    """The table's lines at depth 0-2, decoded (only they are: the bytes of the other ~700,000 lines
    are never turned into text)."""
    return [line.decode("utf-8") for line in _UPPER_LEVELS.findall(b"\n" + raw)]

# Municipalities directly under the central government are provinces in GB/T 2260.
_MUNICIPALITY_PREFIXES = {"11", "12", "31", "50"}


@dataclass(frozen=True)
class Place:
    name: str
    code: str  # 6-digit GB/T 2260 code
    level: str  # province | city | district | county

    @property
    def province_code(self) -> str:
        return self.code[:2] + "0000"

    @property
    def city_code(self) -> str | None:
        return None if self.level == "province" else self.code[:4] + "00"


def _level(depth: int, code: str, name: str) -> str:
    if depth == 0 or (code[:2] in _MUNICIPALITY_PREFIXES and code.endswith("0000")):
        return "province"
    if depth == 1:
        return "city"
    # county covers 县, 旗 and county-level 市 (and 自治县/自治旗); 区 is a district
    return "district" if name.endswith("区") else "county"


def _table_path() -> Path:
    spec = importlib.util.find_spec("jionlp")  # located without importing jionlp (0.4 s, loads jiojio)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the jionlp package is not installed: pip install jionlp")
    return Path(spec.submodule_search_locations[0]) / "dictionary" / "china_location.zip"


@lru_cache(maxsize=1)
def _table() -> tuple[dict[str, list[Place]], dict[str, set[str]]]:
    """(full name -> places of that name, short name -> full names it stands for). Several units share
    a full name (鼓楼区, 新华区 …). Lines of the table: name TAB code TAB short name, indented by depth
    (0 province, 1 prefecture, 2 county level, 3+ towns and villages, not used)."""
    by_name: dict[str, list[Place]] = {}
    short: dict[str, set[str]] = {}
    with zipfile.ZipFile(_table_path()) as archive:
        raw = archive.read("china_location.txt")
    # ~3,600 of the table's ~700,000 lines are county level or above: found by one regex scan in C
    # (upper_level_lines) instead of splitting and measuring every town's and village's line in Python
    for line in upper_level_lines(raw):
        depth = len(line) - len(line.lstrip("\t"))
        if not line.strip():
            continue
        fields = line.strip().split("\t")
        if len(fields) < 2 or len(fields[0]) < 2:
            continue
        name, code = fields[0], fields[1][:6]
        if depth >= 1 and code.endswith("0000") or depth == 2 and code.endswith("00"):
            continue  # a unit repeated one level down (北京市 under 北京市, 中山市 under 中山市)
        place = Place(name, code, _level(depth, code, name))
        by_name.setdefault(name, []).append(place)
        # short names only for provinces and prefectures: county-level short names collide with ordinary
        # words and development-zone nicknames ("南湖", "经开区"); measured in docs/facts.md
        if depth <= 1 and len(fields) > 2 and len(fields[2]) >= 2 and fields[2] != name:
            short.setdefault(fields[2], set()).add(name)
    _add_former_names(by_name, short)
    return by_name, short


def _add_former_names(by_name: dict[str, list[Place]], short: dict[str, set[str]]) -> None:
    """Names a county-level unit had or will soon have, resolving to the unit in the table:

    - renamings the table's change list records (淮阳县 -> 淮阳区, 2019: older articles say 淮阳县);
    - a 县 or county-level 市 turned district ("撤县设区", dozens a year): the text says X区 while the
      table still has X县 / X市 (长泰县 -> 长泰区 in 2021). Only when X区 names no other unit."""
    changes = _table_path().with_name("china_location_change.txt").read_text(encoding="utf-8")
    for line in changes.splitlines():
        fields = line.strip().split("\t")
        if len(fields) < 10 or "=>" not in fields[7]:
            continue
        old, new = fields[6], fields[9]
        if len(old) >= 2 and old not in by_name and new in by_name:
            short.setdefault(old, set()).add(new)
    for name, places in list(by_name.items()):
        stem = name[:-1]
        if len(stem) >= 2 and name[-1] in "县市" and any(p.level == "county" for p in places):
            if stem + "区" not in by_name:
                short.setdefault(stem + "区", set()).add(name)


def _places() -> dict[str, list[Place]]:
    return _table()[0]


@lru_cache(maxsize=1)
def _automaton() -> ahocorasick.Automaton:
    """Names (full and short) -> the full names they stand for."""
    by_name, short = _table()
    forms: dict[str, set[str]] = {name: {name} for name in by_name}
    for form, names in short.items():
        if form not in by_name:
            forms.setdefault(form, set()).update(names)
    automaton = ahocorasick.Automaton()
    for form, names in forms.items():
        automaton.add_word(form, (form, tuple(sorted(names))))
    automaton.make_automaton()
    return automaton


def _pick(candidates: list[Place], context_codes: tuple[str, ...]) -> Place:
    """Among places sharing a name, the one inside (or containing) a place the context names."""
    if len(candidates) == 1 or not context_codes:
        return candidates[0]

    def affinity(place: Place) -> int:
        best = 0
        for code in context_codes:
            if code[:4] == place.code[:4]:
                best = max(best, 2)
            elif code[:2] == place.code[:2]:
                best = max(best, 1)
        return best

    return max(candidates, key=affinity)


def _candidates(name: str) -> list[Place]:
    if name in _places():
        return _places()[name]
    hit = _automaton().get(name, None)
    if hit is None or hit[0] != name:
        return []
    return [p for n in hit[1] for p in _places()[n]]


def resolve_place(name: str, context_codes: tuple[str, ...] = ()) -> dict | None:
    """`{name, level, admin_code, province, city, county}` for an administrative name (full or short,
    Simplified script), or None. `context_codes` (codes of other places the text or source names) decide
    between places that share a name."""
    candidates = _candidates(name) if name else []
    return _describe(_pick(candidates, context_codes)) if candidates else None


@lru_cache(maxsize=4096)
def _by_code(code: str) -> Place | None:
    for places in _places().values():
        for place in places:
            if place.code == code:
                return place
    return None


def _describe(place: Place) -> dict:
    province = _by_code(place.province_code)
    city = _by_code(place.city_code) if place.city_code and place.level in ("district", "county") else None
    return {
        "name": place.name,
        "level": place.level,
        "admin_code": place.code,
        "province": province.name if province else None,
        "city": place.name if place.level == "city" else (city.name if city else None),
        "county": place.name if place.level in ("district", "county") else None,
    }


def find_places(folded: str, context_codes: tuple[str, ...] = ()) -> list[tuple[int, int, dict]]:
    """Every administrative name in `folded` (Simplified text): (start, end, resolved place), longest
    match first, no overlaps. A name that continues a longer CJK word of places is still reported by its
    longest known form only."""
    hits = []
    for end_index, (form, _names) in _automaton().iter(folded):
        start = end_index - len(form) + 1
        hits.append((start, end_index + 1, form))
    hits.sort(key=lambda h: (h[0], -(h[1] - h[0])))
    chosen: list[tuple[int, int, str]] = []
    last_end = -1
    for start, end, form in hits:
        if start < last_end:
            continue
        if form not in _places() and _INSTITUTION_AFTER.match(folded, end):
            continue  # a short name opening an institution's name: 金昌环保科技有限公司, 厦门大学
        chosen.append((start, end, form))
        last_end = end
    # names that resolve to one place settle the ones several places share (鼓楼区 next to 福州市)
    codes = list(context_codes) + [
        place.code for _s, _e, form in chosen if len(candidates := _candidates(form)) == 1 for place in candidates]
    # each code once (what decides is which places are named, not how often): a text that names places
    # thousands of times would otherwise have every name weighed against every mention, quadratic
    codes = tuple(dict.fromkeys(codes))
    resolved = []
    for start, end, form in chosen:
        place = resolve_place(form, codes)
        if place and place["level"] in ("district", "county") and form != place["name"]:
            # a former or newer name: its level is the one the text writes (长泰区 is a district)
            place = {**place, "level": "district" if form.endswith("区") else "county"}
        if place:
            resolved.append((start, end, place))
    return resolved
