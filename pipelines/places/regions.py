"""A region string ("江苏省泰州市泰兴市", "泰州", "常州武进") as province / city / county names with their
administrative division codes (GB/T 2260, six digits: 32 = 江苏省, 3212 = 泰州市, 321283 = 泰兴市).

Why levels: a reader who picks 泰州 must also find what 泰兴市 (a county-level city of 泰州) published.
With the three levels and their codes stored per source, "any level matches" is one comparison per
level (``province_code = :c or city_code = :c or county_code = :c``), for any place name the reader
types, however abbreviated.

Why cpca: it ships the national division table with codes and resolves abbreviated and partial names
(泰州 → 江苏省泰州市, 武进区 → 江苏省常州市武进区) from the table itself, so nothing here lists places by
hand. It is imported lazily (it loads pandas, ~0.5 s) and its answers are cached per string.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from functools import lru_cache

import sqlite_utils

# cpca's placeholder "cities" of the municipalities and of counties directly under a province: not
# a place anyone names, so the level is left empty rather than matched.
_NOT_A_CITY = {"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"}

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


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None  # pandas gives NaN for "none"


@lru_cache(maxsize=4096)
def resolve_region(region: str | None) -> Place:
    """The administrative levels a region string names; EMPTY for "全国", "" or an unknown name."""
    if not region or not region.strip():
        return EMPTY
    import cpca  # lazy: pandas

    record = cpca.transform([region.strip()]).to_dict("records")[0]
    adcode = _text(record.get("adcode"))
    province, city, county = _text(record.get("省")), _text(record.get("市")), _text(record.get("区"))
    if not adcode or not province or not adcode.isdigit() or len(adcode) != 6:
        return EMPTY
    if city in _NOT_A_CITY:
        city = None
    return Place(
        province=province, province_code=adcode[:2] + "0000",
        city=city, city_code=adcode[:4] + "00" if city else None,
        county=county, county_code=adcode if county else None,
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
