"""A region string ("广东省广州市天河区", "泰州", "常州武进") as province / city / county names with their
administrative division codes (GB/T 2260, six digits: 32 = 江苏省, 3212 = 泰州市, 321283 = 泰兴市).

Why levels: a reader who picks 泰州 must also find what 泰兴市 (a county-level city of 泰州) published.
With the three levels and their codes stored per source, "any level matches" is one comparison per
level (``province_code = :c or city_code = :c or county_code = :c``), for any place name the reader
types, however abbreviated.

The table is the one the facts extraction uses (pipelines/facts/places.py: jionlp's national division
data with codes, full and short names; see docs/facts.md for why not cpca), so a region and a place in
an article text resolve to the same codes and nothing here lists places by hand. Answers are cached per
string.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from functools import lru_cache

import sqlite_utils

from pipelines.chinese import to_simplified
from pipelines.facts.places import find_places

LEVELS = ("province", "city", "county")
COLUMNS = {"province": str, "province_code": str, "city": str, "city_code": str,
           "county": str, "county_code": str}


@dataclass(frozen=True)
class Place:
    province: str | None = None
    province_code: str | None = None
    city: str | None = None
    city_code: str | None = None
    county: str | None = None
    county_code: str | None = None

    @property
    def code(self) -> str | None:
        """The code of the lowest level named (what a filter on this place compares)."""
        return self.county_code or self.city_code or self.province_code

    @property
    def name(self) -> str:
        return "".join(p for p in (self.province, self.city, self.county) if p)

    def as_row(self) -> dict[str, str | None]:
        return asdict(self)


EMPTY = Place()


_RANK = {"province": 0, "city": 1, "district": 2, "county": 2}


@lru_cache(maxsize=4096)
def resolve_region(region: str | None) -> Place:
    """The administrative levels a region string names; EMPTY for "全国", "" or an unknown name.

    The names are found with the facts extraction's place table (pipelines.facts.places: the national
    division table with GB/T 2260 codes, full and short names); the places named together disambiguate
    each other (鼓楼区 after 福州市 is Fuzhou's), and the lowest level named decides the codes."""
    if not region or not region.strip():
        return EMPTY
    text = to_simplified(region.strip())
    hits = find_places(text)
    if hits:  # second pass: every name found is context for the others
        hits = find_places(text, tuple(place["admin_code"] for _, _, place in hits))
    if not hits:
        return EMPTY
    place = max(hits, key=lambda hit: (_RANK.get(hit[2]["level"], 0), hit[0]))[2]
    code = place["admin_code"]
    if not code or not code.isdigit() or len(code) != 6:
        return EMPTY
    city, county = place.get("city"), place.get("county")
    return Place(
        province=place.get("province") or (place["name"] if place["level"] == "province" else None),
        province_code=code[:2] + "0000",
        city=city, city_code=code[:4] + "00" if city else None,
        county=county, county_code=code if county else None,
    )


def add_region_levels(db: sqlite_utils.Database) -> None:
    """Migration 50: sources gain province/city/county (+ codes) from their region string, and a
    source_type (gov / media / repost) inferred from their URLs until the registry says otherwise."""
    from pipelines.urls import infer_source_type

    table = db["sources"]
    missing = {k: v for k, v in {**COLUMNS, "source_type": str}.items() if k not in table.columns_dict}
    for column, kind in missing.items():
        table.add_column(column, kind)
    for row in list(db.query("select id, region, start_urls from sources")):
        try:
            urls = json.loads(row["start_urls"] or "[]")
        except ValueError:
            urls = []
        table.update(row["id"], {**resolve_region(row["region"]).as_row(),
                                 "source_type": infer_source_type(urls)})
    for column in ("province_code", "city_code", "county_code"):
        table.create_index([column], if_not_exists=True)
