"""The reader's pages: the front page (a search page with the archive at a glance) and the result list
with its CSV / JSON / Atom exports. Plugin routes running fixed SQL (pipelines.search.finder), so they
work with arbitrary SQL switched off.

    /                         front page (replaces Datasette's database list)
    /-/search?q=&from=&to=&place=&source=&type=&sort=&page=&copies=
    /-/search.csv|.json|.atom the same results (at most finder.EXPORT_LIMIT rows; Atom: 50 newest)
"""

from __future__ import annotations

import csv
import io
import json
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode
from xml.sax.saxutils import escape as xml_escape

from datasette.utils import sqlite_timelimit
from datasette.utils.asgi import NotFound, Response

from pipelines.publish.datasette_plugin.i18n import HTML_LANG, current_language, t
from pipelines.search import finder, search_index

ARTICLES = next(iter(search_index.SEARCH_TABLES))
TIME_LIMIT_MS = 2000  # fixed SQL, but a pathological archive must still not hold a thread for long
FEED_SIZE = 50


async def archive_database(datasette: Any) -> str:
    """The first database with an articles table (the archive), else 404."""
    for name, db in datasette.databases.items():
        if name != "_internal" and ARTICLES in await db.table_names():
            return name
    raise NotFound("no archive database")


async def _allowed(datasette: Any, request: Any, database: str) -> None:
    """The same permissions as the articles table page (raises Forbidden)."""
    await datasette.ensure_permissions(request.actor, [
        ("view-table", (database, ARTICLES)), ("view-database", database), "view-instance"])


def _run(datasette: Any, database: str, fn: Any) -> Any:
    def limited(conn: Any) -> Any:
        with sqlite_timelimit(conn, TIME_LIMIT_MS):
            return fn(conn)

    return datasette.get_database(database).execute_fn(limited)


def archive_overview(conn: Any) -> dict[str, Any]:
    """Size, date span, last crawl, per-source health and the newest articles, for the front page."""
    sources = finder.load_sources(conn)
    per_source = {r[0]: {"articles": r[1], "newest": r[2]} for r in conn.execute(
        "select source_id, count(*), max(published) from articles group by source_id")}
    first = conn.execute("select min(published) from articles where published is not null").fetchone()[0]
    last = conn.execute("select max(published) from articles").fetchone()[0]
    tables = {r[0] for r in conn.execute("select name from sqlite_master where type = 'table'")}
    runs = []
    if "crawl_runs" in tables:
        runs = [dict(zip(("id", "started_at", "finished_at", "status", "exit_status", "sources", "articles_new",
                          "errors"), r, strict=True)) for r in conn.execute(
            "select id, started_at, finished_at, status, exit_status, sources, articles_new, errors "
            "from crawl_runs order by id desc limit 20")]
    last_run = runs[0] if runs else None
    errors: dict[str, int] = {}
    if last_run and "fetch_errors" in tables:
        errors = dict(conn.execute("select source_id, count(*) from fetch_errors where run_id = ? "
                                   "group by source_id", [last_run["id"]]).fetchall())
    health = []
    for sid, source in sources.items():
        run = next((r for r in runs if sid in _json_list(r["sources"])), None)
        if run is None:
            verdict = "health_never"
        elif run["exit_status"] not in (0, None) and errors.get(sid):
            verdict = "health_failed"
        elif errors.get(sid) and run is last_run:
            verdict = "health_errors"
        else:
            verdict = "health_ok"
        stats = per_source.get(sid, {})
        health.append({"id": sid, "name": source.name, "type": source.source_type or "media",
                       "place": source.place, "articles": stats.get("articles", 0), "newest": stats.get("newest"),
                       "errors": errors.get(sid, 0) if run is last_run else 0, "verdict": verdict,
                       "last_run": run["finished_at"] or run["started_at"] if run else None})
    newest = [{"id": r[0], "title": r[1], "published": r[2],
               "publisher": sources[r[3]].name if r[3] in sources else (r[3] or "")}
              for r in conn.execute("select id, title, published, source_id from articles "
                                    "order by published desc, id limit 10")]
    return {"articles": sum(s["articles"] for s in per_source.values()), "sources": len(sources),
            "first": first, "last": last, "last_run": last_run, "health": health, "newest": newest,
            "places": finder.places(sources), "source_list": list(sources.values())}


def _json_list(value: str | None) -> list[str]:
    try:
        out = json.loads(value or "[]")
    except ValueError:
        return []
    return out if isinstance(out, list) else []


def _context(datasette: Any, request: Any, database: str, **extra: Any) -> dict[str, Any]:
    return {"database": database,
            "article_url": lambda aid: datasette.urls.row(database, ARTICLES, str(aid)),
            "search_url": lambda args: datasette.urls.path("-/search") + ("?" + urlencode(args) if args else ""),
            "type_label": lambda ty: t(f"type_{ty or 'media'}"), **extra}


async def front_page(datasette: Any, request: Any) -> Response:
    database = await archive_database(datasette)
    await _allowed(datasette, request, database)
    started = time.perf_counter()
    overview = await _run(datasette, database, archive_overview)
    context = _context(datasette, request, database, overview=overview, query=finder.SearchQuery(),
                       query_ms=(time.perf_counter() - started) * 1000)
    return Response.html(await datasette.render_template("govbrief_front.html", context, request=request,
                                                         view_name="govbrief_front"))


def _description(query: finder.SearchQuery, result: finder.SearchResult | None, sources: dict[str, Any]) -> str:
    """The query and its filters in words: the results heading and the Atom feed's title."""
    parts = [f"“{query.q}”"] if query.q else []
    if query.place:
        parts.append((result.place_name if result else None) or query.place)
    if query.date_from or query.date_to:
        parts.append(f"{query.date_from or '…'} {t('to')} {query.date_to or '…'}")
    if query.source:
        parts.append(sources.get(query.source, query.source))
    if query.source_type:
        parts.append(t(f"type_{query.source_type}"))
    return " · ".join(parts) or t("feed_all")


async def search_page(datasette: Any, request: Any) -> Response:
    database = await archive_database(datasette)
    await _allowed(datasette, request, database)
    fmt = request.url_vars.get("format")
    started = time.perf_counter()
    try:
        query = finder.SearchQuery.from_args(request.args)
    except finder.BadQuery as exc:
        if fmt:
            return Response.json({"error": str(exc)}, status=400)
        overview = await _run(datasette, database, archive_overview)
        message = str(exc) if current_language.get() == "en" else t(
            "bad_param", name=t(BAD_PARAM_LABELS.get(exc.param, exc.param)), value=exc.value)
        context = _context(datasette, request, database, error=message, query=finder.SearchQuery(),
                           overview=overview, result=None, description="")
        return Response.html(await datasette.render_template("govbrief_search.html", context, request=request,
                                                             view_name="govbrief_search"), status=400)
    config = datasette.plugin_config("govbrief", database=database) or {}
    rank_limit = int(config.get("page_rank_limit", finder.RANK_LIMIT))
    if fmt == "atom":
        query = finder.SearchQuery(**{**query.__dict__, "sort": "date", "page": 1})
    page_size = finder.EXPORT_LIMIT if fmt in ("csv", "json") else FEED_SIZE if fmt == "atom" else finder.PAGE_SIZE
    if fmt in ("csv", "json"):
        query = finder.SearchQuery(**{**query.__dict__, "page": 1})

    def work(conn: Any) -> tuple[finder.SearchResult, dict[str, Any] | None]:
        result = finder.search(conn, query, page_size=page_size, facets=fmt is None, rank_limit=rank_limit)
        overview = {"places": finder.places(finder.load_sources(conn)),
                    "source_list": list(finder.load_sources(conn).values())} if fmt is None else None
        return result, overview

    result, overview = await _run(datasette, database, work)
    names = {s.id: s.name for s in (overview or {}).get("source_list", [])} or {
        r["source_id"]: r["publisher"] for r in result.rows}
    description = _description(query, result, names)
    if fmt == "json":
        return Response.json({"query": query.as_args(), "description": description, "total": len(result.rows),
                              "ordered_by": result.ordered_by, "rows": [_export_row(datasette, request, database, r)
                                                                        for r in result.rows]},
                             headers={"Access-Control-Allow-Origin": "*"})
    if fmt == "csv":
        return _csv_response(datasette, request, database, result)
    if fmt == "atom":
        return _atom_response(datasette, request, database, result, description)
    context = _context(datasette, request, database, query=query, result=result, overview=overview,
                       description=description, query_ms=(time.perf_counter() - started) * 1000,
                       export_url=lambda ext: datasette.urls.path(f"-/search.{ext}") + "?" + urlencode(
                           query.as_args(page=1)))
    return Response.html(await datasette.render_template("govbrief_search.html", context, request=request,
                                                         view_name="govbrief_search"))


BAD_PARAM_LABELS = {"from": "date_from", "to": "date_to", "type": "source_type", "sort": "sort", "page": "page"}

EXPORT_FIELDS = ("id", "title", "published", "publisher", "source_id", "source_type", "place", "url",
                 "article_page", "snippet", "copies")


def _export_row(datasette: Any, request: Any, database: str, row: dict[str, Any]) -> dict[str, Any]:
    out = {k: row.get(k) for k in EXPORT_FIELDS}
    out["article_page"] = datasette.absolute_url(request, datasette.urls.row(database, ARTICLES, str(row["id"])))
    out["copies"] = len(row["copies"]) or 1
    return out


def _csv_response(datasette: Any, request: Any, database: str, result: finder.SearchResult) -> Response:
    buffer = io.StringIO()
    buffer.write("\ufeff")  # a BOM: Excel (what most readers open a CSV with) then reads UTF-8 Chinese
    writer = csv.DictWriter(buffer, fieldnames=EXPORT_FIELDS, lineterminator="\r\n")
    writer.writeheader()
    for row in result.rows:
        writer.writerow(_export_row(datasette, request, database, row))
    return Response(buffer.getvalue(), content_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": 'attachment; filename="govbrief-search.csv"'})


def _atom_response(datasette: Any, request: Any, database: str, result: finder.SearchResult,
                   description: str) -> Response:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    self_url = datasette.absolute_url(request, request.path + ("?" + request.query_string if request.query_string
                                                                else ""))
    html_url = datasette.absolute_url(request, datasette.urls.path("-/search") + "?" + urlencode(
        result.query.as_args(sort="date")))
    title = t("feed_title") + t("colon") + description
    entries = []
    for row in result.rows:
        page = datasette.absolute_url(request, datasette.urls.row(database, ARTICLES, str(row["id"])))
        updated = f"{row['published']}T00:00:00Z" if row["published"] else now
        entries.append(
            "<entry>"
            f"<id>{xml_escape(row['url'] or page)}</id>"
            f"<title>{xml_escape(row['title'] or '')}</title>"
            f"<updated>{xml_escape(updated)}</updated>"
            f"<link rel=\"alternate\" href=\"{xml_escape(page)}\"/>"
            f"<link rel=\"via\" href=\"{xml_escape(row['url'] or page)}\"/>"
            f"<author><name>{xml_escape(row['publisher'] or '')}</name></author>"
            f"<summary>{xml_escape(row['snippet'] or '')}</summary>"
            "</entry>")
    body = ('<?xml version="1.0" encoding="utf-8"?>\n'
            f'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="{HTML_LANG[current_language.get()]}">'
            f"<id>{xml_escape(self_url)}</id><title>{xml_escape(title)}</title><updated>{now}</updated>"
            f'<link rel="self" href="{xml_escape(self_url)}"/><link rel="alternate" href="{xml_escape(html_url)}"/>'
            + "".join(entries) + "</feed>")
    return Response(body, content_type="application/atom+xml; charset=utf-8")
