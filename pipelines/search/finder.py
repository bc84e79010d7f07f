"""The reader's search: one query string plus filters (date range, place at any level, source, source
type) → a page of results with counts and facets, as a news database shows them.

Plain functions over a sqlite3 connection (the Datasette plugin runs them through ``execute_fn``; the
tests and the benchmark can call them directly). Every statement is fixed SQL with bound parameters:
the reader's input never becomes SQL text.

How it stays fast on a large archive (see docs/reading.md for figures):
  * filters on the publisher (place, source type, source) are resolved against the small ``sources``
    table first, so articles are filtered by ``source_id`` through the (source_id, published) index;
  * the count and every facet come from ONE grouped query over that covering index
    (source_id × month), aggregated in Python into years, months, sources, source types and places;
  * a frequent search string is tested as membership (``+id in (hits)``) while the index is walked,
    a rare one is read from its hits (the same choice as the table search, see datasette_plugin);
  * relevance ranking (bm25) is used up to ``rank_limit`` hits, then newest first, saying so.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from pipelines.places import regions
from pipelines.places.regions import resolve_region
from pipelines.search import search_index
from pipelines.urls import SOURCE_TYPES

PAGE_SIZE = 20
EXPORT_LIMIT = 1000  # rows in one CSV/JSON export (Datasette's max_returned_rows)
# More hits than this are listed newest first: bm25 costs ~2.5 µs a hit (more on a busy machine), and
# the page must stay well under 300 ms; a string in more than 5 % of a 200k archive says little about
# relevance anyway (plugin config: page_rank_limit). The canned query keeps its own 50,000.
RANK_LIMIT = 10_000
FREQUENT_HITS = 1000  # from this many hits (or 2 % of the archive) membership beats reading the hits
SNIPPET_WIDTH = 120
MONTH_FACET_MAX = 36  # more distinct months than this: the date facet shows years

_DATE = re.compile(r"^(\d{4})(?:-(\d{1,2}))?(?:-(\d{1,2}))?$")


class BadQuery(ValueError):
    """A filter value that cannot be understood; the message says which and why. ``param`` and
    ``value`` let a page say it in the reader's language."""

    def __init__(self, message: str, param: str, value: object):
        super().__init__(message)
        self.param = param
        self.value = value


def _date_bound(value: str | None, upper: bool, name: str) -> str | None:
    """'2023', '2023-3', '2023-03-05' → a lexicographic bound on published (YYYY-MM-DD)."""
    value = (value or "").strip().replace("/", "-").replace(".", "-")
    if not value:
        return None
    m = _DATE.match(value)
    if not m:
        raise BadQuery(f"{name}: expected a date such as 2023-03-05, 2023-03 or 2023, got {value!r}", name, value)
    year, month, day = m.group(1), m.group(2), m.group(3)
    if month and not 1 <= int(month) <= 12 or day and not 1 <= int(day) <= 31:
        raise BadQuery(f"{name}: no such date {value!r}", name, value)
    parts = [year, f"{int(month):02d}" if month else ("12" if upper else "01")]
    parts.append(f"{int(day):02d}" if day else ("99" if upper else "00"))  # "99"/"00": whole month
    return "-".join(parts)


@dataclass(frozen=True)
class SearchQuery:
    q: str = ""
    date_from: str | None = None  # as typed; bounds are computed
    date_to: str | None = None
    place: str | None = None  # an admin code (320000 / 321200 / 321283) or a place name (泰州)
    source: str | None = None  # a source id
    source_type: str | None = None  # gov / media / repost
    sort: str = "relevance"  # relevance (when there is a query) or date
    page: int = 1
    all_copies: bool = False  # True: every article; False: one row per repost cluster

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> SearchQuery:
        def get(name: str) -> str | None:
            value = args.get(name)
            return value.strip() if isinstance(value, str) and value.strip() else None

        source_type = get("type")
        if source_type and source_type not in SOURCE_TYPES:
            raise BadQuery(f"type: expected one of {', '.join(SOURCE_TYPES)}, got {source_type!r}", "type",
                           source_type)
        sort = get("sort") or "relevance"
        if sort not in ("relevance", "date"):
            raise BadQuery(f"sort: expected relevance or date, got {sort!r}", "sort", sort)
        try:
            page = max(1, int(get("page") or 1))
        except ValueError:
            raise BadQuery(f"page: expected a number, got {get('page')!r}", "page", get("page")) from None
        query = cls(q=(get("q") or "")[:200], date_from=get("from"), date_to=get("to"), place=get("place"),
                    source=get("source"), source_type=source_type, sort=sort, page=min(page, 500),
                    all_copies=get("copies") == "all")
        query.bounds()  # validate the dates now
        return query

    def bounds(self) -> tuple[str | None, str | None]:
        return _date_bound(self.date_from, False, "from"), _date_bound(self.date_to, True, "to")

    def as_args(self, **changes: Any) -> dict[str, str]:
        """URL parameters of this query (with changes), for links: page, sort, facets, exports."""
        q = replace(self, **changes) if changes else self
        out = {"q": q.q, "from": q.date_from, "to": q.date_to, "place": q.place, "source": q.source,
               "type": q.source_type, "sort": None if q.sort == "relevance" else q.sort,
               "page": str(q.page) if q.page > 1 else None, "copies": "all" if q.all_copies else None}
        return {k: v for k, v in out.items() if v}

    @property
    def has_filters(self) -> bool:
        return bool(self.q or self.date_from or self.date_to or self.place or self.source or self.source_type)


@dataclass
class Source:
    id: str
    name: str
    region: str | None
    source_type: str | None
    levels: regions.Place = regions.EMPTY  # province / city / county with codes (migration 50)

    @property
    def place(self) -> str:
        return self.levels.name or (self.region or "")

    @property
    def codes(self) -> tuple[str | None, str | None, str | None]:
        return self.levels.province_code, self.levels.city_code, self.levels.county_code


@dataclass
class PlaceOption:
    code: str
    name: str
    level: int  # 0 province, 1 city, 2 county
    parent: str | None = None


@dataclass
class SearchResult:
    query: SearchQuery
    rows: list[dict[str, Any]]
    total: int
    ordered_by: str  # relevance / date / date (too many hits to rank)
    facets: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    place_name: str | None = None
    page_size: int = PAGE_SIZE

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def load_sources(conn: Any) -> dict[str, Source]:
    columns = {r[1] for r in conn.execute("pragma table_info(sources)")}
    wanted = ["id", "name", "region", "source_type", "province", "province_code", "city", "city_code",
              "county", "county_code"]
    select = ", ".join(c if c in columns else f"null as {c}" for c in wanted)
    return {r[0]: Source(*r[:4], levels=regions.Place(*r[4:]))
            for r in conn.execute(f"select {select} from sources order by id")}


def places(sources: Mapping[str, Source]) -> list[PlaceOption]:
    """Every province, city and county a source belongs to, as a tree in reading order."""
    found: dict[str, PlaceOption] = {}
    for s in sources.values():
        p = s.levels
        levels = [(p.province_code, p.province), (p.city_code, p.city), (p.county_code, p.county)]
        parent = None
        for depth, (code, name) in enumerate(levels):
            if code and name:
                found.setdefault(code, PlaceOption(code, name, depth, parent))
                parent = code
    return sorted(found.values(), key=lambda p: p.code)


def place_code(place: str | None, sources: Mapping[str, Source]) -> str | None:
    """An admin code from a code or a name (泰州, 泰州市, 江苏省泰州市); None when nothing matches."""
    if not place:
        return None
    if place.isdigit():
        return place
    for p in places(sources):
        if place in (p.name, p.name.rstrip("省市县区")):
            return p.code
    return resolve_region(place).code


def matching_source_ids(query: SearchQuery, sources: Mapping[str, Source]) -> list[str] | None:
    """The sources the publisher filters allow; None when no publisher filter is set."""
    if not (query.place or query.source or query.source_type):
        return None
    code = place_code(query.place, sources)
    if query.place and code is None:
        return []
    return [s.id for s in sources.values()
            if (not query.source or s.id == query.source)
            and (not query.source_type or (s.source_type or "media") == query.source_type)
            and (not code or code in s.codes)]


def _conditions(query: SearchQuery, source_ids: list[str] | None, membership: str | None
                ) -> tuple[list[str], dict[str, Any]]:
    where: list[str] = []
    params: dict[str, Any] = {}
    low, high = query.bounds()
    if low:
        where.append("a.published >= :low")
        params["low"] = low
    if high:
        where.append("a.published <= :high")
        params["high"] = high
    if source_ids is not None:
        marks = []
        for i, sid in enumerate(source_ids):
            params[f"s{i}"] = sid
            marks.append(f":s{i}")
        where.append(f"a.source_id in ({', '.join(marks) or 'null'})")
    if membership:
        where.append(membership)
    return where, params


_HITS = f"select rowid from {search_index.FTS_TABLE} where {search_index.FTS_TABLE} match :match"


def _membership(conn: Any, match: str | None, frequent_hits: int) -> tuple[str | None, int]:
    """(the WHERE term for the search string, hits counted up to the frequent threshold)."""
    if match is None:
        return None, 0
    total = conn.execute("select max(rowid) from articles").fetchone()[0] or 0
    threshold = max(frequent_hits, total // 50, 1)
    hits = conn.execute(f"select count(*) from ({_HITS} limit {threshold})", {"match": match}).fetchone()[0]
    # frequent: walk an index and test membership; rare: read the few hits directly
    return (f"+a.id in ({_HITS})" if hits >= threshold else f"a.id in ({_HITS})"), hits


def _facets(conn: Any, where: list[str], params: dict[str, Any], sources: Mapping[str, Source]
            ) -> tuple[int, dict[str, list[dict[str, Any]]]]:
    """(total, facets) from one grouped query over the (source_id, published) index."""
    # grouped in the order of FACET_INDEX: no temporary b-tree (which cost ~5x the scan at 200k)
    sql = (f"select a.source_id, a.published_month, count(*) from articles a "
           f"{'where ' + ' and '.join(where) if where else ''} group by a.source_id, a.published_month")
    by_source: Counter[str] = Counter()
    by_month: Counter[str] = Counter()
    for source_id, month, count in conn.execute(sql, params):
        by_source[source_id or ""] += count
        by_month[month or ""] += count
    total = sum(by_source.values())
    by_year: Counter[str] = Counter()
    for month, count in by_month.items():
        by_year[month[:4]] += count
    by_type: Counter[str] = Counter()
    by_place: Counter[str] = Counter()
    for source_id, count in by_source.items():
        s = sources.get(source_id)
        by_type[(s.source_type if s else None) or "media"] += count
        for code in set(s.codes) - {None} if s else ():
            by_place[code] += count
    names = {p.code: p for p in places(sources)}
    dated = sorted(((m, c) for m, c in by_month.items() if m), reverse=True)
    date_facet = ([{"value": m, "count": c, "from": m, "to": m} for m, c in dated]
                  if len(dated) <= MONTH_FACET_MAX else
                  [{"value": y, "count": c, "from": y, "to": y} for y, c in sorted(by_year.items(), reverse=True) if y])
    facets = {
        "date": date_facet,
        "undated": [{"value": "", "count": by_month[""]}] if by_month.get("") else [],
        "source": [{"value": sid, "label": sources[sid].name if sid in sources else sid, "count": c}
                   for sid, c in by_source.most_common()],
        "type": [{"value": t, "count": by_type[t]} for t in SOURCE_TYPES if by_type.get(t)],
        "place": [{"value": code, "label": names[code].name, "level": names[code].level, "count": c}
                  for code, c in sorted(by_place.items()) if code in names],
    }
    return total, facets


FACET_INDEX = "idx_articles_source_month_published"


def add_facet_index(db: Any) -> None:
    """Migration 51: the index the reader's count and facets are read from, in one pass and already
    grouped (source × month), with the date for range filters."""
    db["articles"].create_index(["source_id", "published_month", "published"], index_name=FACET_INDEX,
                                if_not_exists=True)


def _cluster_filter(where: list[str]) -> str:
    """Hide a repost whose canonical copy is also a result (one row per cluster)."""
    canonical_where = " and ".join(w.replace("a.", "ca.") for w in where) or "1"
    return ("not exists (select 1 from article_clusters m "
            "join article_clusters c on c.cluster_id = m.cluster_id and c.is_canonical = 1 "
            "join articles ca on ca.id = c.article_id "
            f"where m.article_id = a.id and m.is_canonical = 0 and {canonical_where})")


_ROW_COLUMNS = "a.id, a.title, a.published, a.source_id, a.region, a.url, a.text, a.source_org, a.host"


RANK_BATCH = 200  # ranked hits checked against the filters per statement


def _ranked_ids(conn: Any, match: str, where: list[str], params: dict[str, Any], limit: int, offset: int
                ) -> list[int]:
    """A page of the hits in bm25 order that pass the filters. FTS5 ranks its own rowids (no article
    row is read while ranking); the filters are then checked a batch of ranked hits at a time, so a
    page needs a few batches, not a check of every hit."""
    fts = search_index.FTS_TABLE
    ranked = [r[0] for r in conn.execute(f"select rowid from {fts} where {fts} match :match order by rank",
                                         {"match": match})]
    rest = [w for w in where if not w.endswith(f"a.id in ({_HITS})")]
    if not rest:
        return ranked[offset:offset + limit]
    wanted = offset + limit
    passed: list[int] = []
    for start in range(0, len(ranked), RANK_BATCH):
        batch = ranked[start:start + RANK_BATCH]
        marks = ", ".join(f":r{i}" for i in range(len(batch)))
        ok = {r[0] for r in conn.execute(
            f"select a.id from articles a where a.id in ({marks}) and {' and '.join(rest)}",
            {**params, **{f"r{i}": rid for i, rid in enumerate(batch)}})}
        passed.extend(rid for rid in batch if rid in ok)
        if len(passed) >= wanted:
            break
    return passed[offset:wanted]


def _page_ids(conn: Any, query: SearchQuery, match: str | None, where: list[str], params: dict[str, Any],
              limit: int, offset: int, rank_limit: int, source_ids: list[str] | None) -> tuple[list[int], str]:
    if match is not None and query.sort == "relevance":
        hits = conn.execute(f"select count(*) from ({_HITS} limit {rank_limit + 1})", {"match": match}).fetchone()[0]
        if hits <= rank_limit:
            return _ranked_ids(conn, match, where, params, limit, offset), "relevance"
    # A few sources: read their (source_id, published) index ranges and sort the rows found, rather
    # than walk every date newest first looking up each article's source.
    index = " indexed by idx_articles_source_id_published" if source_ids is not None and len(source_ids) <= 8 else ""
    sql = (f"select a.id from articles a{index} {'where ' + ' and '.join(where) if where else ''} "
           f"order by a.published desc, a.id limit :limit offset :offset")
    ordered = "date" if match is None or query.sort == "date" else "date (too many hits to rank)"
    return [r[0] for r in conn.execute(sql, {**params, "limit": limit, "offset": offset})], ordered


def _copies(conn: Any, ids: list[int], sources: Mapping[str, Source]) -> dict[int, list[dict[str, Any]]]:
    """For each article in a cluster: every member of its cluster (canonical first)."""
    if not ids or not conn.execute("select 1 from sqlite_master where name = 'article_clusters'").fetchone():
        return {}
    marks = ", ".join("?" * len(ids))
    rows = conn.execute(f"""
        select me.article_id, a.id, a.title, a.published, a.source_id, a.host, a.url, m.is_canonical
          from article_clusters me
          join article_clusters m on m.cluster_id = me.cluster_id
          join articles a on a.id = m.article_id
         where me.article_id in ({marks})
         order by me.article_id, m.is_canonical desc, a.published is null, a.published, a.id""", ids)
    out: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for me, aid, title, published, sid, host, url, canonical in rows:
        out[me].append({"id": aid, "title": title, "published": published, "source_id": sid,
                        "publisher": sources[sid].name if sid in sources else (host or ""), "url": url,
                        "is_canonical": bool(canonical)})
    return dict(out)


def search(conn: Any, query: SearchQuery, *, page_size: int = PAGE_SIZE, facets: bool = True,
           rank_limit: int = RANK_LIMIT, frequent_hits: int = FREQUENT_HITS) -> SearchResult:
    """One page of results for ``query`` with the total and facets (facets=False: exports)."""
    sources = load_sources(conn)
    source_ids = matching_source_ids(query, sources)
    match = search_index.match_expression(query.q) if query.q.strip() else None
    if query.q.strip() and match is None:
        match = search_index.MATCH_NOTHING  # only punctuation: nothing contains it
    membership, _ = _membership(conn, match, frequent_hits)
    where, params = _conditions(query, source_ids, membership)
    if match is not None:
        params["match"] = match
    total, facet_lists = _facets(conn, where, params, sources) if facets else (0, {})
    list_where = where if query.all_copies else [*where, _cluster_filter(where)]
    offset = (query.page - 1) * page_size
    ids, ordered_by = _page_ids(conn, query, match, list_where, params, page_size, offset, rank_limit, source_ids)
    rows = _rows(conn, ids, query.q, sources)
    code = place_code(query.place, sources)
    place_name = next((p.name for p in places(sources) if p.code == code), None) if code else None
    if query.place and not place_name:
        place_name = resolve_region(query.place).name or query.place
    return SearchResult(query, rows, total, ordered_by, facet_lists, place_name, page_size)


def _rows(conn: Any, ids: list[int], q: str, sources: Mapping[str, Source]) -> list[dict[str, Any]]:
    if not ids:
        return []
    marks = ", ".join("?" * len(ids))
    by_id = {r[0]: r for r in conn.execute(f"select {_ROW_COLUMNS} from articles a where a.id in ({marks})", ids)}
    copies = _copies(conn, ids, sources)
    out = []
    for aid in ids:
        _, title, published, sid, region, url, text, source_org, host = by_id[aid]
        source = sources.get(sid)
        out.append({
            "id": aid, "title": title or url, "published": published,
            "publisher": source.name if source else (source_org or host or sid or ""),
            "source_id": sid, "source_type": (source.source_type if source else None) or "media",
            "place": source.place if source else (region or ""), "url": url,
            "snippet_html": search_index.snippet(text, q, width=SNIPPET_WIDTH) if q else
            search_index.snippet(text, None, width=SNIPPET_WIDTH),
            "snippet": search_index.snippet(text, q or None, width=SNIPPET_WIDTH, as_html=False),
            "title_html": search_index.highlight(title or url, q) if q else None,
            "copies": copies.get(aid, []),
        })
    return out
