"""Datasette plugin: Chinese search on the articles table, highlighted hits, article pages.

* ``prepare_connection``: SQL functions govbrief_match / govbrief_snippet / govbrief_highlight /
  govbrief_fold / govbrief_rank_limit (used by the canned queries in metadata.yml).
* ``filters_from_request``: ``?_search=`` on a table listed in ``search_index.INDEXED_TABLES``
  becomes a MATCH on the bigram index (Datasette's own search does not see the contentless index,
  so it stays out of the way).
* ``render_cell``: title and text cells show highlighted hits while searching; ``snippet``
  columns of queries keep their <mark> tags and nothing else.
* ``register_routes``: /-/govbrief/capture/<database>/<id> shows a stored capture as plain text.
* templates/row.html: the article page; templates/_article_extraction.html (included by it): the
  政务公开 grid fields and the extraction provenance (``prepare_jinja2_environment`` adds the
  ``govbrief_json`` filter that reads the provenance JSON).

Everything archived is rendered as text: Jinja autoescaping everywhere, and the only markup this
plugin adds is <mark> and links it builds itself.
"""

from __future__ import annotations

import gzip
import html
import time
from contextvars import ContextVar
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlencode
from weakref import WeakKeyDictionary

from datasette import hookimpl
from datasette.filters import FilterArguments
from datasette.utils import escape_sqlite, urlsafe_components
from datasette.utils.asgi import NotFound, Request, Response
from markupsafe import Markup, escape

from pipelines.extract.decode import decode_html
from pipelines.lineage import clusters as lineage
from pipelines.publish.datasette_plugin import i18n, reader
from pipelines.publish.warc import write_warc
from pipelines.search import finder, search_index

# The current request's ?_search= value. render_cell gets no request in Datasette 0.65, so the
# ASGI wrapper below sets this for the duration of each request (contextvars are per task).
_current_search: ContextVar[str | None] = ContextVar("govbrief_current_search", default=None)

SNIPPET_WIDTH = 160


# The search canned query ranks at most this many hits by bm25 (plugin config: rank_limit); a
# query with more is listed newest first. bm25 costs ~2.5 us per hit: 50,000 hits ~ 0.15 s.
RANK_LIMIT = 50_000


@hookimpl
def prepare_connection(conn: Any, database: str, datasette: Any) -> None:
    search_index.register_functions(conn)
    config = datasette.plugin_config("govbrief", database=database) or {}
    rank_limit = int(config.get("rank_limit", RANK_LIMIT))
    conn.create_function("govbrief_rank_limit", 0, lambda: rank_limit, deterministic=True)


@hookimpl
def asgi_wrapper(datasette: Any) -> Any:
    def wrap(app: Any) -> Any:
        async def wrapped(scope: dict, receive: Any, send: Any) -> None:
            search = None
            lang = i18n.DEFAULT
            chosen = None
            if scope.get("type") == "http":
                args = {k: v[0] for k, v in parse_qs(scope.get("query_string", b"").decode("ascii", "replace")).items()}
                search = args.get("_search")
                request = Request(scope, receive)
                lang = i18n.language(args, request.cookies)
                chosen = args.get("_lang") if args.get("_lang") in i18n.LANGUAGES else None

            async def remember_language(message: dict) -> None:
                # ?_lang= is remembered for the visitor's next pages (Datasette's own links drop it)
                if chosen and message.get("type") == "http.response.start":
                    cookie = f"{i18n.COOKIE}={chosen}; Path=/; Max-Age=31536000; SameSite=Lax".encode()
                    message = {**message, "headers": [*message.get("headers", []), (b"set-cookie", cookie)]}
                await send(message)

            token = _current_search.set(search)
            lang_token = i18n.current_language.set(lang)
            try:
                if scope.get("type") == "http":
                    scope = with_default_columns(scope)
                await app(scope, receive, remember_language if chosen else send)
            finally:
                _current_search.reset(token)
                i18n.current_language.reset(lang_token)

        return wrapped

    return wrap


async def _has_index(datasette: Any, database: str, table: str) -> bool:
    fts = search_index.INDEXED_TABLES.get(table)
    if not fts:
        return False
    return fts in await datasette.get_database(database).table_names()


# A query is "frequent" when it matches at least this many articles, or 2 % of them if that is
# more (plugin config: frequent_hits). See _where_clause for why it matters.
FREQUENT_HITS = 1000
# Below this many hits, reading the hits is cheaper than walking the sort index (~20 µs a row).
SMALL_HITS = 500


async def _where_clause(datasette: Any, database: str, table: str, fts: str, pk: str, expr: str,
                        request: Any) -> str:
    """The WHERE clause for a search, shaped so SQLite picks a good plan (it has no statistics
    about FTS hits, so it cannot choose by itself). All three forms select the same rows.

    * ``pk in (select rowid ... match)``: SQLite drives from the hits (rowid lookups, then sorts
      them). Right for rare queries: the page, the count and every facet read only the hits.
    * ``+pk in (...)``: the unary plus stops SQLite from driving from the hits, so it walks the
      index of the sort order (published, or the rowid) and checks membership in the hit set,
      stopping after one page; counts and facets scan an index instead of looking up every hit.
      Right for frequent queries, and for rare ones on the published sort when there is no count
      or facet to compute.
    * ``exists (... match ... and rowid = pk)``: no hit set at all, one index probe per row in
      sort order. For frequent queries this finds a page after a few dozen probes, but a count
      would probe every row, so it is used only when Datasette computes neither a count nor facets
      (``_shape=array|object``, or ``_nocount`` with ``_nofacet``), i.e. JSON API paging.
    """
    db = datasette.get_database(database)
    config = datasette.plugin_config("govbrief", database=database, table=table) or {}
    total = (await db.execute(f"select max(rowid) from {escape_sqlite(table)}")).first()[0] or 0
    threshold = max(int(config.get("frequent_hits", FREQUENT_HITS)), total // 50, 1)
    small = min(int(config.get("small_hits", SMALL_HITS)), threshold)
    hits = (await db.execute(
        f"select count(*) from (select rowid from {escape_sqlite(fts)} where {escape_sqlite(fts)} "
        f"match :q limit {threshold})", {"q": expr})).first()[0]
    frequent = hits >= threshold
    table_metadata = datasette.table_metadata(database, table)
    sort = (request.args.get("_sort") or request.args.get("_sort_desc") or table_metadata.get("sort")
            or table_metadata.get("sort_desc") or pk)
    # mirrors Datasette 0.65's table view: these shapes skip the count and all facets
    bare = request.args.get("_shape") in ("array", "object")
    no_count = bare or bool(request.args.get("_nocount"))
    no_facets = bare or bool(request.args.get("_nofacet"))
    subquery = f"select rowid from {escape_sqlite(fts)} where {escape_sqlite(fts)} match :govbrief_search"
    bare_json = no_count and no_facets
    if hits < small:
        return f"{escape_sqlite(pk)} in ({subquery})"  # reading a few hundred rows beats any scan
    if frequent and bare_json and sort in (pk, "rowid", "published"):
        return (f"exists (select 1 from {escape_sqlite(fts)} where {escape_sqlite(fts)} match :govbrief_search "
                f"and rowid = {escape_sqlite(table)}.{escape_sqlite(pk)})")
    if frequent or (bare_json and sort == "published"):
        return f"+{escape_sqlite(pk)} in ({subquery})"
    # rare: read only the hits (facet and count queries too, which with +pk would scan the table)
    return f"{escape_sqlite(pk)} in ({subquery})"


@hookimpl
def filters_from_request(request: Any, database: str, table: str, datasette: Any) -> Any:
    if table not in search_index.INDEXED_TABLES:
        return None

    async def inner() -> FilterArguments | None:
        if not await _has_index(datasette, database, table):
            return None
        query = request.args.get("_search") or ""
        extra = {"supports_search": True, "search": query}
        if not query.strip():
            return FilterArguments([], extra_context=extra)
        expr = search_index.match_expression(query)
        if expr is None:
            # only punctuation or spaces: nothing searchable, so no row "contains" it
            return FilterArguments(["0"], human_descriptions=[f'search "{query}" has no letters or digits'],
                                   extra_context=extra)
        fts = search_index.INDEXED_TABLES[table]
        pks = await datasette.get_database(database).primary_keys(table)
        pk = pks[0] if len(pks) == 1 else "rowid"
        where = await _where_clause(datasette, database, table, fts, pk, expr, request)
        return FilterArguments([where], params={"govbrief_search": expr},
                               human_descriptions=[f'search matches "{query}"'], extra_context=extra)

    return inner


@hookimpl
def extra_template_vars(template: str, database: str | None, table: str | None, view_name: str,
                        request: Any, datasette: Any) -> Any:
    lang = i18n.current_language.get()
    out: dict[str, Any] = {"govbrief_article_tables": list(search_index.SEARCH_TABLES), "t": i18n.t,
                           "from_label": i18n.from_label, "t_column": i18n.column_label, "govbrief_lang": lang,
                           "govbrief_html_lang": i18n.HTML_LANG[lang],
                           "govbrief_search_url": datasette.urls.path("-/search"),
                           "govbrief_lang_url": _language_switch_url(request, lang),
                           "govbrief_date_facets": DATE_FACETS, "govbrief_source_columns": ("source_id",),
                           "govbrief_source_names": {}}
    if view_name == "table" and table in search_index.INDEXED_TABLES:
        # Datasette's own search filter runs too and reports supports_search=False for a table
        # without a detectable FTS table; template variables are applied last, so this wins.
        out["supports_search"] = True
        out["search"] = request.args.get("_search", "") if request else ""

    async def with_database_vars() -> dict[str, Any]:
        out["govbrief_source_names"] = await source_names(datasette, database)
        if view_name == "row" and table in search_index.SEARCH_TABLES and request is not None:
            pks = urlsafe_components(request.url_vars.get("pks", ""))
            if len(pks) == 1 and str(pks[0]).isdigit():
                out["govbrief_provenance"] = await article_provenance(datasette, database, int(pks[0]))
        return out

    return with_database_vars if database and view_name in ("table", "row") else out


# Facets shown in date order (newest first) rather than by count.
DATE_FACETS = ("published_year", "published_month", "published")
# The article table's columns when the visitor chose none: readable, and the text only once (as a
# snippet). Any ?_col= / ?_nocol= of the visitor wins.
DEFAULT_ARTICLE_COLUMNS = ("title", "published", "source_id", "region", "text")
_SOURCE_NAMES_TTL = 60.0
# per Datasette instance (tests run several in one process), per database
_source_names_cache: WeakKeyDictionary[Any, dict[str, tuple[float, dict[str, str]]]] = WeakKeyDictionary()


async def source_names(datasette: Any, database: str | None) -> dict[str, str]:
    """source id → publisher name (cached a minute: the registry changes once per crawl)."""
    if not database:
        return {}
    cache = _source_names_cache.setdefault(datasette, {})
    cached = cache.get(database)
    if cached and cached[0] > time.monotonic():
        return cached[1]
    db = datasette.get_database(database)
    names: dict[str, str] = {}
    if "sources" in await db.table_names():
        names = {r["id"]: r["name"] for r in (await db.execute("select id, name from sources")).rows if r["name"]}
    cache[database] = (time.monotonic() + _SOURCE_NAMES_TTL, names)
    return names


def with_default_columns(scope: dict) -> dict:
    """The HTML articles table without ?_col/?_nocol shows DEFAULT_ARTICLE_COLUMNS (the query string
    is rewritten inside the server; the visitor's URL stays as typed)."""
    path = scope.get("path", "")
    parts = path.strip("/").split("/")
    if len(parts) != 2 or parts[1] not in search_index.SEARCH_TABLES or parts[0].startswith("-"):
        return scope
    query = scope.get("query_string", b"").decode("ascii", "replace")
    if any(k in ("_col", "_nocol") for k, _ in parse_qsl(query, keep_blank_values=True)):
        return scope
    extra = urlencode([("_col", c) for c in DEFAULT_ARTICLE_COLUMNS])
    return {**scope, "query_string": ((query + "&" if query else "") + extra).encode("ascii")}


def _language_switch_url(request: Any, lang: str) -> str:
    """This page in the other language (the cookie set by ?_lang= keeps it on later pages)."""
    if request is None:
        return "?_lang=" + ("en" if lang == "zh" else "zh")
    args = [(k, v) for k, v in parse_qsl(request.query_string, keep_blank_values=True) if k != "_lang"]
    return request.path + "?" + urlencode([*args, ("_lang", "en" if lang == "zh" else "zh")])


# What the article page shows about where an article's text came from and what happened to it.
# Every query reads only this article's rows through indexes (article_clusters.cluster_id,
# captures.url, article_versions/article_events (article_id, ...)).
_PROVENANCE_QUERIES = {
    "also_published": ("article_clusters", lineage.ALSO_PUBLISHED_SQL),
    "captures": ("captures", """
        select id, url, final_url, status, body_size, sha256, fetched_at
          from captures where url = :url
         order by fetched_at desc, id desc limit 50"""),
    "versions": ("article_versions", """
        select version, detected_at, title, summary, capture_id, text_length
          from article_versions where article_id = :article_id order by version desc"""),
    "attachments": ("attachments", """
        select id, url, link_text, content_type, kind, size, sha256, capture_id, substr(text, 1, 200) as text
          from attachments where article_url = :url order by id limit 100"""),
    "events": ("article_events", """
        select event, at, status, reason, capture_id
          from article_events where article_id = :article_id order by at desc, id desc limit 20"""),
}


async def article_provenance(datasette: Any, database: str, article_id: int) -> dict[str, Any]:
    """For the article page: the other copies of the text (canonical first), every stored capture of
    the URL, the versions seen by re-checks and the latest re-check events. Tables an older archive
    lacks give empty lists."""
    db = datasette.get_database(database)
    tables = set(await db.table_names())
    article = (await db.execute("select id, url, source_id from articles where id = ?", [article_id])).first()
    result: dict[str, Any] = {name: [] for name in _PROVENANCE_QUERIES}
    if article is None:
        return result
    sources = await db.execute_fn(finder.load_sources)
    source = sources.get(article["source_id"])
    result["source"] = {"name": source.name, "source_type": source.source_type, "place": source.place} if source else {}
    params = {"article_id": article_id, "url": article["url"]}
    for name, (needs, sql) in _PROVENANCE_QUERIES.items():
        if needs in tables:
            result[name] = [dict(r) for r in (await db.execute(sql, params)).rows]
    return result


def _mark_only(value: str) -> Markup:
    """Text that may carry <mark> tags (from govbrief_snippet): escape everything, then let only
    <mark> and </mark> through. Safe even for a custom SQL query crafted to return markup."""
    text = escape(html.unescape(value))
    return Markup(str(text).replace("&lt;mark&gt;", "<mark>").replace("&lt;/mark&gt;", "</mark>"))


# title links to the article page and is highlighted while searching; texts become snippets
_HIGHLIGHT_COLUMNS = ("title", "text", "title_simplified", "text_simplified")


@hookimpl
def prepare_jinja2_environment(env: Any) -> None:
    env.filters["govbrief_json"] = _json_or_none


def _json_or_none(value: Any) -> Any:
    """Parse a JSON column for a template; None for empty or malformed values (never an error page)."""
    import json

    if not isinstance(value, str) or not value:
        return None
    try:
        return json.loads(value)
    except ValueError:
        return None


@hookimpl
def render_cell(row: Any, value: Any, column: str, table: str | None, database: str,
                datasette: Any) -> Any:
    if table is None:
        if isinstance(value, str) and (column == "snippet" or column.endswith("_snippet")):
            return _mark_only(value)
        if column == "article_id" and isinstance(value, int):
            tables = list(search_index.SEARCH_TABLES)
            href = datasette.urls.row(database, tables[0], str(value))
            return Markup(f'<a href="{escape(href)}">{value}</a>')
        return None
    if column == "source_id" and isinstance(value, str):
        async def publisher() -> Any:
            name = (await source_names(datasette, database)).get(value)
            return Markup(f'<span title="{escape(value)}">{escape(name)}</span>') if name else None

        return publisher
    if table not in search_index.INDEXED_TABLES or column not in _HIGHLIGHT_COLUMNS:
        return None
    search = _current_search.get()
    if column == "title_simplified":
        return Markup(search_index.highlight(value, search)) if search and isinstance(value, str) else None
    if column == "title":
        text = search_index.highlight(value, search) if search else str(escape(value or ""))
        try:
            href = datasette.urls.row(database, table, str(row["id"]))
        except (KeyError, IndexError):
            return Markup(text)
        return Markup(f'<a class="govbrief-title" href="{escape(href)}">{text}</a>')
    if isinstance(value, str):  # the text as a snippet: around the first hit, else its start
        return Markup(search_index.snippet(value, search or None, width=SNIPPET_WIDTH))
    return None


@hookimpl
def register_routes() -> list:
    return [
        (r"^/-/govbrief/capture/(?P<database>[^/]+)/(?P<capture_id>\d+)$", capture_text),
        (r"^/-/govbrief/warc/(?P<database>[^/]+)/(?P<capture_id>\d+)\.warc\.gz$", capture_warc),
        (r"^/$", reader.front_page),  # plugin routes come first: this replaces Datasette's database list
        (r"^/-/search(\.(?P<format>csv|json|atom))?$", reader.search_page),
    ]


async def _capture_row(datasette: Any, request: Any) -> Any:
    """The capture named by the URL, for a visitor allowed to see the captures table."""
    database = request.url_vars["database"]
    try:
        db = datasette.get_database(database)
    except KeyError as e:
        raise NotFound("no such database") from e
    await datasette.ensure_permissions(request.actor, [
        ("view-table", (database, "captures")), ("view-database", database), "view-instance"])
    if "captures" not in await db.table_names():
        raise NotFound("no captures table")
    result = await db.execute("select * from captures where id = ?", [int(request.url_vars["capture_id"])])
    row = result.first()
    if row is None:
        raise NotFound("no such capture")
    return row


async def capture_warc(datasette: Any, request: Any) -> Response:
    """One capture as a WARC file (response, reconstructed request, metadata): the evidence of one
    page in the standard format, for replay tools and for handing over with a story."""
    row = await _capture_row(datasette, request)
    db = datasette.get_database(request.url_vars["database"])

    def export(conn: Any) -> bytes:
        import io

        import sqlite_utils

        out = io.BytesIO()
        write_warc(sqlite_utils.Database(conn), out, capture_id=row["id"],
                   filename=f"capture-{row['id']}.warc.gz")
        return out.getvalue()

    body = await db.execute_fn(export)
    return Response(body, content_type="application/warc", headers={
        "Content-Disposition": f'attachment; filename="capture-{row["id"]}.warc.gz"'})


async def capture_text(datasette: Any, request: Any) -> Response:
    """A stored capture's body as text/plain, never as HTML: the archived page cannot run."""
    row = await _capture_row(datasette, request)
    body = row["body"] or b""
    if row["body_encoding"] == "gzip":
        body = gzip.decompress(body)
    try:
        text, _ = decode_html(body, row["content_type"])
    except Exception:  # decoding is best effort: show what we can rather than fail
        text = body.decode("utf-8", "replace")
    header = (f"capture {row['id']}  url: {row['url']}\nfinal url: {row['final_url']}  "
              f"status: {row['status']}  fetched: {row['fetched_at']}  sha256: {row['sha256']}\n\n")
    return Response(header + text, content_type="text/plain; charset=utf-8", headers={
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
    })
