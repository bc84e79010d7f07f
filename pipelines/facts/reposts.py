"""A repost's year-less dates belong to the original.

Portals, Sohu accounts and wenku farms republish a government briefing months or years later under
their own date: a 2024 copy of a 2021 report still says "2月26日", and dating it by the copy's own
publication puts the meeting in 2024. Once repost lineage (pipelines.lineage) knows which pages carry
the same text, the earliest publication date among them is the closest anyone came to the event, so
every later (or undated) copy dates its "M月D日" by it. Those facts say so in "year_from".

Two callers, one rule (`anchors`): the archive after each lineage update (`date_reposts`), and
`govbrief extract --manifest`, which clusters the pages of one manifest the same way
(`with_facts_of_copies`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

import sqlite_utils

from pipelines.facts.extract import event_dates, extract_facts, has_yearless_date, posted_near_of

Key = TypeVar("Key")


def anchors(cluster: Sequence[tuple[Key, str | None]]) -> dict[Key, str]:
    """For one cluster of copies [(key, published YYYY-MM-DD or None)], the earliest publication date
    for each copy published later than it or undated. The earliest copy itself (and any copy of the
    same day) keeps its own date: it gets no entry."""
    dated = [p[:10] for _k, p in cluster if p and len(p) >= 10]
    if not dated:
        return {}
    first = min(dated)
    return {key: first for key, published in cluster if not published or published[:10] > first}


def with_facts_of_copies(articles: list[dict]) -> list[dict]:
    """Manifest lines (as_dict of each extracted page, in order) with their "facts", the pages that are
    copies of one text dating their year-less events by the earliest of them, as the archive does.
    Lines reporting an error get an empty list."""
    from pipelines.lineage.clusters import find_clusters

    rows = [{"id": i, "url": a.get("url") or "", "host": "", "source_id": None, "title": a.get("title"),
             "text": a.get("text") or "", "published": a.get("published"), "first_fetched": None,
             "source_org": a.get("source_org"), "source_name": None}
            for i, a in enumerate(articles) if a.get("text") and not a.get("error")]
    docs, clusters = find_clusters(rows)
    dated_by: dict[int, str] = {}
    for cluster in clusters:
        dated_by.update(anchors([(docs[m].article_id, docs[m].published) for m, *_ in cluster]))
    return [{**a, "facts": extract_facts(a.get("text"), a.get("published"), a.get("region"),
                                         dated_by=dated_by.get(i), posted_near=a.get("posted_near"))}
            for i, a in enumerate(articles)]


# the clusters lineage formed or changed since, and those with a member (re)processed since (whose facts
# processing wrote from the page's own date)
_CLUSTER_MEMBERS = """
select ac.cluster_id, a.id, a.published, a.text, a.region, a.extraction,
       exists(select 1 from facts f where f.article_id = a.id and f.kind = 'event_date'
                                      and f.extra like '%"year_from": "earliest copy%') as redated
  from article_clusters ac join articles a on a.id = ac.article_id
 where ac.cluster_id in (select id from clusters where updated_at >= :since
                         union
                         select c.cluster_id from article_clusters c join articles m on m.id = c.article_id
                          where m.extracted_at >= :since)
 order by ac.cluster_id, a.id"""


def date_reposts(db: sqlite_utils.Database, since: str) -> dict[str, Any]:
    """Re-date the facts of the copies in every cluster lineage formed or changed, or whose member was
    processed, at or after `since` (a utc_now() timestamp): later copies take the earliest copy's date
    for their year-less events, and a copy that has become the earliest goes back to its own date.
    Only texts with a year-less date whose dates change are rewritten (a big repost family of the same
    week costs a regex per copy). Bounded by what the run touched; one transaction per 200 articles;
    idempotent."""
    from pipelines.facts.store import store_facts

    members: dict[int, list[dict]] = {}
    for row in db.query(_CLUSTER_MEMBERS, {"since": since}):
        members.setdefault(row["cluster_id"], []).append(row)
    redated = 0
    batch: list[tuple[dict, str | None]] = []

    def flush() -> None:
        with db.conn:
            for row, first in batch:
                facts = extract_facts(row["text"], row["published"], row["region"], dated_by=first,
                                      posted_near=posted_near_of(row["extraction"]))
                store_facts(db, row["id"], facts, commit=False)
        batch.clear()

    for cluster in members.values():
        dated_by = anchors([(r["id"], r["published"]) for r in cluster])
        for row in cluster:
            first = dated_by.get(row["id"])
            if first is None and not row["redated"]:
                continue  # dated by itself, as processing wrote it
            if not has_yearless_date(row["text"]):
                continue  # nothing in it depends on the date it is read at
            if first is not None and not row["redated"]:
                stored = {r[0] for r in db.execute(
                    "select date from facts where article_id = ? and kind = 'event_date'", [row["id"]])}
                posted_near = posted_near_of(row["extraction"])
                if event_dates(row["text"], row["published"], dated_by=first, posted_near=posted_near) == stored:
                    continue  # the earliest copy gives the same dates (a repost of the same week)
            batch.append((row, first))
            redated += first is not None
            if len(batch) >= 200:
                flush()
    if batch:
        flush()
    return {"clusters": len(members), "redated": redated}
