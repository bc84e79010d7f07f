"""The `facts` and `projects` tables: migrations 40-41 and the one write processing calls.

`store_facts(db, article_id, facts)` replaces an article's facts and projects (idempotent: storing the
same article twice leaves one copy); `store_facts_many` does it for many articles at once, which is
what the processing writer calls once a batch's articles are upserted, in the same transaction. The
facts themselves come from the pure `extract_facts`, so the computation can run anywhere (a worker
process) and only this write needs the archive.

Every fact row also carries the article's *context place* (the place named nearest before it, else the
first place of the article) and month (of the event date, else of publication): the columns journalists
facet and sum by. Sums that must count each announcement once go through the view
`investment_announcements`, which keeps one row per (lineage cluster, amount, currency): a press
release reposted by twenty portals is one announcement (clusters: pipelines/lineage).
"""

from __future__ import annotations

import contextlib
import json
import re

import sqlite_utils

from pipelines.store import storage

FACT_COLUMNS = {
    "id": int, "article_id": int, "url": str, "kind": str, "text": str, "start": int, "end": int,
    "amount": float, "amount_cny": float, "currency": str, "qualifier": str, "title": str, "name": str,
    "level": str, "admin_code": str, "value": float, "unit": str, "date": str, "project": str,
    "place": str, "place_code": str, "place_level": str, "month": str, "published": str,
    "facts_version": int, "extra": str,
}
PROJECT_COLUMNS = {
    "id": int, "article_id": int, "url": str, "fact_id": int, "name": str, "amount": float,
    "amount_cny": float, "currency": str, "stage": str, "place": str, "place_code": str, "date": str,
    "month": str, "start": int, "end": int,
}
_FIELDS = set(FACT_COLUMNS)

INVESTMENT_VIEW = """
create view if not exists investment_announcements as
-- one row per announced investment: reposts in one lineage cluster stating the same amount count once
select min(f.id) as fact_id, min(f.article_id) as article_id,
       coalesce('cluster ' || ac.cluster_id, 'article ' || f.article_id) as lineage,
       f.amount, f.amount_cny, f.currency, min(f.text) as text, min(f.project) as project,
       min(f.place) as place, min(f.place_code) as place_code, min(f.place_level) as place_level,
       min(f.month) as month, count(*) as copies
from facts f left join article_clusters ac on ac.article_id = f.article_id
where f.kind = 'investment'
group by lineage, f.amount, f.currency
"""


def create_facts_schema(db: sqlite_utils.Database) -> None:
    """Migration 40: facts and projects tables, their indexes and the de-duplicating view."""
    db["facts"].create(FACT_COLUMNS, pk="id", if_not_exists=True)
    db["projects"].create(PROJECT_COLUMNS, pk="id", if_not_exists=True)
    for columns in (["article_id"], ["kind", "amount_cny"], ["place"], ["month"], ["name"], ["place_level"]):
        db["facts"].create_index(columns, if_not_exists=True)
    for columns in (["article_id"], ["place"], ["stage"]):
        db["projects"].create_index(columns, if_not_exists=True)
    from pipelines.lineage.clusters import ensure_lineage_schema

    ensure_lineage_schema(db)  # the view joins article_clusters
    db.execute(INVESTMENT_VIEW)


def backfill_facts(db: sqlite_utils.Database) -> None:
    """Migration 41: facts of the articles archived before facts existed."""
    rows = list(db.query("select id, text, published, region, extraction from articles"))
    if not rows:
        return  # a new archive: nothing to backfill, and no extractor to load
    from pipelines.facts.extract import extract_facts, posted_near_of

    for row in rows:
        facts = extract_facts(row["text"], row["published"], row["region"],
                              posted_near=posted_near_of(row["extraction"]))
        store_facts(db, row["id"], facts, commit=False)


def _context_place(fact: dict, places: list[dict]) -> dict | None:
    before = [p for p in places if p["offsets"][0] <= fact["offsets"][0]]
    return before[-1] if before else (places[0] if places else None)


def _stage(sentence: str) -> str | None:
    from pipelines.facts.extract import _rules

    stages: dict[str, str] = _rules()["projects"]["stages"]
    hits = [(sentence.find(word), -len(word), stage) for word, stage in stages.items() if word in sentence]
    return min(hits)[2] if hits else None


def _sentence(text: str, start: int, end: int) -> str:
    left = max(text.rfind(c, 0, start) for c in "。！？\n；") + 1
    rights = [i for i in (text.find(c, end) for c in "。！？\n；") if i >= 0]
    return text[left:min(rights) if rights else len(text)]


def fact_rows(article: dict, facts: list[dict]) -> list[dict]:
    """Rows of the facts table for one article (`article`: id, url, published)."""
    from pipelines.facts.extract import FACTS_VERSION

    places = [f for f in facts if f["kind"] == "place"]
    dates = [f for f in facts if f["kind"] == "event_date" and f.get("date")]
    month = (dates[0]["date"] if dates else (article.get("published") or ""))[:7] or None
    rows = []
    for fact in facts:
        context = fact if fact["kind"] == "place" else _context_place(fact, places)
        row = {k: v for k, v in fact.items() if k in _FIELDS}
        extra = {k: v for k, v in fact.items() if k not in _FIELDS and k not in ("offsets", "kind")}
        row.update({
            "article_id": article["id"], "url": article.get("url"), "start": fact["offsets"][0],
            "end": fact["offsets"][1], "place": context["name"] if context else None,
            "place_code": context.get("admin_code") if context else None,
            "place_level": context.get("level") if context else None,
            "month": fact["date"][:7] if fact["kind"] == "event_date" and fact.get("date") else month,
            "published": article.get("published"), "facts_version": FACTS_VERSION,
            "extra": json.dumps(extra, ensure_ascii=False) if extra else None,
        })
        if fact["kind"] == "official":
            row["text"] = fact["title"] + fact["name"]
        elif fact["kind"] == "place":
            row["text"] = fact["name"]
        rows.append(row)
    return rows


def project_rows(article: dict, text: str, facts: list[dict], fact_ids: list[int]) -> list[dict]:
    """A project per investment fact that names its project ("…项目总投资20亿元"): amount, stage
    (签约 / 开工 / 竣工 / 投产, from its sentence), place and date."""
    places = [f for f in facts if f["kind"] == "place"]
    dates = [f["date"] for f in facts if f["kind"] == "event_date" and f.get("date")]
    rows = []
    from pipelines.facts.extract import fold

    for fact, fact_id in zip(facts, fact_ids, strict=True):
        if fact["kind"] != "investment" or not fact.get("project"):
            continue
        start, end = fact["project_offsets"]
        place = _context_place(fact, places)
        # the sentence folded, not the whole text: fold keeps lengths and the sentence ends, so this is
        # the same sentence (a tenth of the writer's time went to folding whole articles)
        sentence = fold(_sentence(text, start, fact["offsets"][1]))
        rows.append({
            "article_id": article["id"], "url": article.get("url"), "fact_id": fact_id,
            "name": re.sub(r"\s+", "", fact["project"]), "amount": fact["amount"], "amount_cny": fact["amount_cny"],
            "currency": fact["currency"], "stage": _stage(sentence),
            "place": place["name"] if place else None, "place_code": place.get("admin_code") if place else None,
            "date": dates[0] if dates else None,
            "month": (dates[0] if dates else (article.get("published") or ""))[:7] or None,
            "start": start, "end": end,
        })
    return rows


def store_facts(db: sqlite_utils.Database, article_id: int, facts: list[dict], *, commit: bool = True,
                article: dict | None = None) -> int:
    """Replace the facts and projects of one stored article. Returns the number of facts.

    article: its id, url, published and text as just written (the processing writer has them), else
    they are read from the archive."""
    if article is None:
        article = next(db.query("select id, url, published, text from articles where id = ?", [article_id]), None)
    if article is None:
        raise ValueError(f"store_facts: no article with id {article_id}")
    with db.conn if commit else contextlib.nullcontext():
        return store_facts_many(db, [(article, facts)])


IDS_PER_STATEMENT = 500  # well below SQLite's cap on a statement's parameters (32,766; 999 before 3.32)


def store_facts_many(db: sqlite_utils.Database, articles: list[tuple[dict, list[dict]]]) -> int:
    """Replace the facts and projects of stored articles, (article: id, url, published, text; its
    facts) each, the last of an article's entries winning. Does not commit; returns the number of facts.

    One DELETE per table and one executemany per table for the whole list: the processing writer
    stores a batch's facts at once (~10 rows an article; a statement each was a third of its time).
    Fact ids are given here, in order from the table's largest (what SQLite would give them), so
    projects can name their fact."""
    latest = {article["id"]: (article, facts) for article, facts in articles}
    if not latest:
        return 0
    ids = list(latest)
    for k in range(0, len(ids), IDS_PER_STATEMENT):
        chunk = ids[k:k + IDS_PER_STATEMENT]
        marks = ",".join("?" * len(chunk))
        db.execute(f"delete from projects where article_id in ({marks})", chunk)
        db.execute(f"delete from facts where article_id in ({marks})", chunk)
    next_id = db.execute("select coalesce(max(id), 0) + 1 from facts").fetchone()[0]
    facts_out: list[dict] = []
    projects_out: list[dict] = []
    for article, facts in latest.values():
        rows = fact_rows(article, facts)
        fact_ids = list(range(next_id, next_id + len(rows)))
        next_id += len(rows)
        for row, fact_id in zip(rows, fact_ids, strict=True):
            row["id"] = fact_id
        facts_out.extend(rows)
        projects_out.extend(project_rows(article, article["text"] or "", facts, fact_ids))
    storage.insert_rows(db, "facts", tuple(FACT_COLUMNS), facts_out)
    storage.insert_rows(db, "projects", tuple(c for c in PROJECT_COLUMNS if c != "id"), projects_out)
    return len(facts_out)
