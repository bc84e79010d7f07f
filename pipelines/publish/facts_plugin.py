"""Datasette plugin for the facts (issue 15): the facts on the article page and a chart of investment.

Registered as its own entry point (`govbrief_facts` in pyproject) beside the main govbrief plugin.

* ``extra_template_vars``: on an article page, ``govbrief_facts`` = the article's facts with where each
  sits in the paragraphs the page shows; templates/_article_facts.html (included by row.html) lists
  them, links each to its row of the facts table and highlights it in the text.
* ``register_routes``: ``/-/govbrief/facts-chart`` = announced investment per month (yuan, every repost
  cluster counted once) for a place and/or a search of the article text, as a server-drawn SVG bar chart:
  no JavaScript library and nothing fetched from a CDN, so it works offline on any Datasette 0.65.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from datasette import hookimpl
from datasette.utils import urlsafe_components
from datasette.utils.asgi import Response

ARTICLE_TABLE = "articles"

_FACTS_SQL = """
select id, kind, text, start, "end", amount, amount_cny, currency, qualifier, title, name, level, admin_code,
       value, unit, date, project
from facts where article_id = :article_id order by start, id
"""

# Announced investment per month; the view folds reposts (one row per lineage cluster and amount).
_CHART_SQL = """
select i.month, count(*) as announcements, sum(i.amount_cny) as total_cny
from investment_announcements i
where i.amount_cny is not null and i.month is not null
  and (:place = '' or i.place like '%' || :place || '%')
  and (:q = '' or i.article_id in (select id from articles where text like '%' || :q || '%'
                                   or title like '%' || :q || '%'))
group by i.month order by i.month
"""


def paragraph_positions(text: str, facts: list[dict]) -> list[dict]:
    """Each fact with `para` (index among the non-blank paragraphs row.html shows, stripped) and
    `para_start` (offset inside that paragraph), or without them when the fact crosses paragraphs."""
    paragraphs = []  # (start offset in text of the stripped paragraph, its length)
    offset = 0
    for raw in text.split("\n"):
        stripped = raw.strip()
        if stripped:
            paragraphs.append((offset + len(raw) - len(raw.lstrip()), len(stripped)))
        offset += len(raw) + 1
    out = []
    for fact in facts:
        fact = dict(fact)
        for index, (start, length) in enumerate(paragraphs):
            if start <= fact["start"] and fact["end"] <= start + length:
                fact["para"], fact["para_start"] = index, fact["start"] - start
                break
        out.append(fact)
    return out


async def article_facts(datasette: Any, database: str, article_id: int) -> list[dict]:
    db = datasette.get_database(database)
    if not await db.table_exists("facts"):
        return []
    text_rows = await db.execute("select text from articles where id = ?", [article_id])
    text = text_rows.first()["text"] if text_rows.first() else ""
    rows = await db.execute(_FACTS_SQL, {"article_id": article_id})
    return paragraph_positions(text or "", [dict(r) for r in rows.rows])


@hookimpl
def extra_template_vars(template: str, database: str | None, table: str | None, view_name: str,
                        request: Any, datasette: Any) -> Any:
    if view_name != "row" or table != ARTICLE_TABLE or request is None or database is None:
        return {}

    async def inner() -> dict[str, Any]:
        pks = urlsafe_components(request.url_vars.get("pks", ""))
        if len(pks) != 1 or not str(pks[0]).isdigit():
            return {}
        return {"govbrief_facts": await article_facts(datasette, database, int(pks[0]))}

    return inner


def bar_chart(months: list[dict], width: int = 900, height: int = 320) -> dict[str, Any]:
    """Geometry of an SVG bar chart (one bar per month, height ∝ total yuan) for the template."""
    top = max((m["total_cny"] or 0 for m in months), default=0) or 1
    left, bottom, plot_h = 70, 60, height - 80
    step = (width - left - 10) / max(len(months), 1)
    bars = []
    for i, m in enumerate(months):
        h = (m["total_cny"] or 0) / top * plot_h
        bars.append({**m, "x": round(left + i * step + step * 0.1, 1), "w": round(step * 0.8, 1),
                     "y": round(height - bottom - h, 1), "h": round(h, 1), "yi": round((m["total_cny"] or 0) / 1e8, 2)})
    ticks = [{"y": round(height - bottom - f * plot_h, 1), "label": f"{top * f / 1e8:,.0f}"}
             for f in (0, .25, .5, .75, 1)]
    return {"width": width, "height": height, "left": left, "base": height - bottom, "bars": bars, "ticks": ticks}


async def facts_chart(datasette: Any, request: Any) -> Response:
    database = request.args.get("database") or next(
        (name for name in datasette.databases if name != "_internal"), None)
    place = (request.args.get("place") or "").strip()[:50]
    q = (request.args.get("q") or "").strip()[:50]
    months: list[dict] = []
    error = None
    if database in datasette.databases and await datasette.get_database(database).table_exists("facts"):
        try:
            result = await datasette.get_database(database).execute(_CHART_SQL, {"place": place, "q": q})
            months = [dict(r) for r in result.rows]
        except Exception as exc:  # noqa: BLE001 - a time-limited query is reported on the page, not a 500
            error = str(exc)
    else:
        error = "this archive has no facts table yet (run govbrief with migrations 40+)"
    facts_url = datasette.urls.table(database, "facts") if database else ""
    for m in months:
        args = {"kind": "investment", "month": m["month"]}
        if place:
            args["place__contains"] = place
        m["link"] = facts_url + "?" + urlencode(args)
    html = await datasette.render_template("facts_chart.html", {
        "database": database, "place": place, "q": q, "months": months, "chart": bar_chart(months),
        "error": error, "total_yi": round(sum(m["total_cny"] or 0 for m in months) / 1e8, 2),
    }, request=request)
    return Response.html(html)


@hookimpl
def register_routes() -> list:
    return [(r"^/-/govbrief/facts-chart$", facts_chart)]
