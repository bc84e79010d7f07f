"""Chinese full-text search over articles.title and articles.text (and attachments.link_text and
attachments.text, the same way: ``INDEXES``) with exact-substring semantics.

Why not a stock tokenizer: FTS5 ``unicode61`` keeps a whole run of Chinese characters as one token
(a clause between two punctuation marks is one "word"), and ``trigram`` cannot match queries shorter
than 3 characters, which are most Chinese searches (项目, 泰州, 招商).

What is indexed
    Both columns are *folded* character by character (``fold``): NFKC (full-width -> half-width,
    compatibility ideographs -> unified), lower case, then OpenCC t2s on single characters. Folding
    one character at a time (rather than OpenCC's phrase-aware conversion) keeps it a homomorphism:
    if q occurs in t then fold(q) occurs in fold(t), which is what exact recall needs.
    The folded text is cut into *runs* of word characters (letters and digits of any script;
    everything else - spaces, punctuation, symbols - separates runs). Each run "abcd" becomes the
    tokens ``ab bc cd d``: every overlapping bigram plus the run's last character as a 1-character
    "tail". Every character occurrence is therefore the first character of exactly one token.

How a query matches (see ``match_expression``)
    * 2+ characters: the phrase of its overlapping bigrams ("项目建" -> "项目" "目建" at consecutive
      positions). Bigrams never cross a run boundary, so this is exactly "the folded query occurs
      inside a run of the folded title or text" - the same set a LIKE '%q%' scan over the folded
      columns returns.
    * 1 character: a prefix query ``"项" *`` (any token starting with 项 = any occurrence), served
      by the FTS5 prefix index ``prefix='1'``.
    * a term with separators inside ("2024-05", a quoted "项目 建设") matches the runs in order with
      at least one separator character between them (which separators, and how many, is ignored).
    * several terms: AND. Double quotes (also “ ”) group a phrase that contains spaces.

Storage and consistency
    ``articles_search`` is a contentless FTS5 table (content=''), so the token stream costs no
    row storage; rowid = articles.id. SQLite 3.40 has no ``contentless_delete``, so removing a
    document needs the exact values it was indexed with. Triggers on ``articles`` (plain SQL, no
    custom functions, so any writer connection can fire them) copy the *indexed* version of a row
    into ``articles_search_pending`` before it is updated or deleted, and mark inserted ids as new.
    ``index_article`` / ``sync_search_index`` then delete the old tokens and index the current row.
    The FTS table is never written with INSERT OR REPLACE.
"""

from __future__ import annotations

import hashlib
import html
import logging
import operator
import re
import sqlite3
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import sqlite_utils

log = logging.getLogger(__name__)

# Bump when tokens, folding or the table layout change: a different version triggers a rebuild.
# 2: attachments (link text and extracted text) are indexed the same way (trigram missed 2-character queries).
INDEX_FORMAT = "bigram-tail-2"
INFO_TABLE = "search_index_info"


@dataclass(frozen=True)
class IndexedTable:
    """A table whose two text columns are searchable: its contentless FTS5 index (rowid = the row's
    id) and the table of the indexed versions of rows changed since the index was synced."""

    table: str
    fts: str
    pending: str
    columns: tuple[str, str]

    @property
    def triggers(self) -> dict[str, str]:
        """Triggers copying the indexed version of a row before it changes (see the module docstring).
        New rows: nothing indexed yet. WHERE NOT EXISTS rather than INSERT OR IGNORE, because an outer
        INSERT OR REPLACE would override the trigger's conflict clause and drop a pending 'old'."""
        a, b = self.columns
        return {
            f"{self.fts}_ai": f"""
        CREATE TRIGGER IF NOT EXISTS {self.fts}_ai AFTER INSERT ON {self.table} BEGIN
          INSERT INTO {self.pending}(id, kind) SELECT new.id, 'new'
            WHERE NOT EXISTS (SELECT 1 FROM {self.pending} WHERE id = new.id);
        END""",
            # Before a change, remember the version the index holds (the first one since the last sync).
            f"{self.fts}_bu": f"""
        CREATE TRIGGER IF NOT EXISTS {self.fts}_bu BEFORE UPDATE OF id, {a}, {b} ON {self.table}
        WHEN old.id IS NOT new.id OR old.{a} IS NOT new.{a} OR old.{b} IS NOT new.{b} BEGIN
          INSERT INTO {self.pending}(id, kind, {a}, {b}) SELECT old.id, 'old', old.{a}, old.{b}
            WHERE NOT EXISTS (SELECT 1 FROM {self.pending} WHERE id = old.id);
          INSERT INTO {self.pending}(id, kind) SELECT new.id, 'new'
            WHERE new.id IS NOT old.id AND NOT EXISTS (SELECT 1 FROM {self.pending} WHERE id = new.id);
        END""",
            f"{self.fts}_bd": f"""
        CREATE TRIGGER IF NOT EXISTS {self.fts}_bd BEFORE DELETE ON {self.table} BEGIN
          INSERT INTO {self.pending}(id, kind, {a}, {b}) SELECT old.id, 'old', old.{a}, old.{b}
            WHERE NOT EXISTS (SELECT 1 FROM {self.pending} WHERE id = old.id);
        END""",
        }


ARTICLES = IndexedTable("articles", "articles_search", "articles_search_pending", ("title", "text"))
# The files articles link to: what the article called the file, and the text extracted from it.
ATTACHMENTS = IndexedTable("attachments", "attachments_search", "attachments_search_pending", ("link_text", "text"))
INDEXES = (ARTICLES, ATTACHMENTS)
FTS_TABLE, PENDING_TABLE = ARTICLES.fts, ARTICLES.pending
# The article tables (the reader, article pages, default columns): table -> FTS table.
SEARCH_TABLES = {ARTICLES.table: ARTICLES.fts}
# Every table ?_search= searches through this index: table -> FTS table.
INDEXED_TABLES = {index.table: index.fts for index in INDEXES}
# bm25 weights per FTS column (title, text): a hit in the title says more about the article.
RANK = "bm25(4.0, 1.0)"

_RUN = re.compile(r"[^\W_]+")  # a run of word characters (str.isalnum, any script)
_QUERY_TERM = re.compile(r'"([^"]*)"?|“([^”]*)”?|(\S+)')
_CJK_RANGES = ((0x3400, 0xA000), (0xF900, 0xFB00), (0x20000, 0x30000))


# ------------------------------------------------------------------ folding


@lru_cache(maxsize=1)
def fold_table() -> dict[int, str]:
    """str.translate table: code point -> folded string, only for characters that change.

    Built in every process that indexes or searches, so built
    fast (~0.07 s instead of 0.24 s one OpenCC call per character; the same table, tested): NFKC and
    lower case only where they change something (unicodedata.is_normalized is C), then every CJK
    character in one OpenCC call, one per line."""
    from pipelines.chinese import _t2s

    def is_cjk(c: str) -> bool:
        return any(a <= ord(c) < b for a, b in _CJK_RANGES)

    folded: dict[int, str] = {}
    for cp in range(0x30000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        ch = chr(cp)
        if not unicodedata.is_normalized("NFKC", ch) or ch.lower() != ch:
            if (f := unicodedata.normalize("NFKC", ch).lower()) != ch:
                folded[cp] = f
    # OpenCC one character at a time (one per line: no neighbours): phrase-aware conversion would make
    # folding depend on the context (乾 -> 干 alone, but 乾隆 stays), breaking substring recall.
    cjk = [chr(cp) for a, b in _CJK_RANGES for cp in range(a, b)]
    cjk += sorted({c for f in folded.values() for c in f if is_cjk(c)} - set(cjk))
    simplified = dict(zip(cjk, _t2s().convert("\n".join(cjk)).split("\n"), strict=True))
    table = {ord(c): s for c, s in simplified.items() if s != c and ord(c) not in folded}
    for cp, f in folded.items():
        if (f := "".join(simplified.get(c, c) for c in f)) != chr(cp):
            table[cp] = f
    return table


@lru_cache(maxsize=1)
def index_version() -> str:
    """Identifies the token stream: the format plus what the fold table is built from (OpenCC's
    release, which ships its conversion tables, and Python's Unicode database), so upgrading either
    rebuilds the index. Every command that opens the archive checks it: two version strings instead
    of building the table (0.15 s, in processes that never fold a word)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        built_from = (version("OpenCC"), unicodedata.unidata_version, _CJK_RANGES)
    except PackageNotFoundError:  # an `opencc` module from elsewhere: identify it by its table
        built_from = sorted(fold_table().items())
    digest = hashlib.sha1(repr(built_from).encode()).hexdigest()[:12]
    return f"{INDEX_FORMAT}:{digest}"


def fold(text: str | None) -> str:
    """The searchable form: NFKC, lower case, Traditional -> Simplified, one character at a time."""
    return text.translate(fold_table()) if text else ""


def runs(text: str | None) -> list[str]:
    """Maximal runs of word characters of the folded text."""
    return _RUN.findall(fold(text))


def _bigrams(run: str) -> Iterator[str]:
    return map(operator.add, run, run[1:])


def tokens(text: str | None) -> str:
    """The token stream FTS5 indexes for one column: per run, its bigrams then its last character."""
    parts: list[str] = []
    for run in runs(text):
        parts.extend(_bigrams(run))
        parts.append(run[-1])
    return " ".join(parts)


# ------------------------------------------------------------------ queries


def query_terms(query: str | None) -> list[list[str]]:
    """The query's terms, each as its list of folded runs. Quotes group; whitespace separates."""
    terms: list[list[str]] = []
    for m in _QUERY_TERM.finditer(fold(query or "")):
        term = next(g for g in m.groups() if g is not None)
        term_runs = _RUN.findall(term)
        if term_runs:
            terms.append(term_runs)
    return terms


def _phrase(term_runs: list[str]) -> str:
    """FTS5 phrase for one term (see the module docstring for why this is exact)."""
    toks: list[str] = []
    for i, run in enumerate(term_runs):
        toks.extend(_bigrams(run))
        if i < len(term_runs) - 1:
            toks.append(run[-1])  # the tail: this run must end where the text's run ends
    last = term_runs[-1]
    if len(last) == 1:
        # a trailing single character may be followed by more word characters: prefix token
        toks.append(last)
        return '"' + " ".join(toks) + '" *'
    return '"' + " ".join(toks) + '"'


def match_expression(query: str | None) -> str | None:
    """FTS5 MATCH expression for a journalist's query, or None when it has no word characters."""
    phrases = [_phrase(t) for t in query_terms(query)]
    return " AND ".join(phrases) if phrases else None


# A MATCH that is valid and finds nothing: used by the SQL function for empty queries so canned
# queries render an empty result instead of an FTS5 syntax error.
MATCH_NOTHING = '"\u0001"'


def sql_match(query: str | None) -> str:
    return match_expression(query) or MATCH_NOTHING


# ------------------------------------------------------------------ snippets


def _needles(query: str | None) -> list[str]:
    return sorted({r for t in query_terms(query) for r in t}, key=len, reverse=True)


def _folded_with_offsets(text: str) -> tuple[str, list[int] | None]:
    """fold(text) and, when lengths differ, the original offset of every folded character."""
    folded = fold(text)
    if len(folded) == len(text):
        return folded, None  # the usual case: one character in, one out
    offsets: list[int] = []
    table = fold_table()
    for i, ch in enumerate(text):
        offsets.extend([i] * len(table.get(ord(ch), ch)))
    offsets.append(len(text))
    return folded, offsets


def _spans(text: str, needles: list[str]) -> list[tuple[int, int]]:
    """Non-overlapping (start, end) spans of the needles in text, in original-text offsets."""
    if not text or not needles:
        return []
    folded, offsets = _folded_with_offsets(text)
    found: list[tuple[int, int]] = []
    for needle in needles:
        start = folded.find(needle)
        while start >= 0:
            found.append((start, start + len(needle)))
            start = folded.find(needle, start + len(needle))
    found.sort()
    spans: list[tuple[int, int]] = []
    for s, e in found:
        if spans and s < spans[-1][1]:
            continue
        spans.append((s, e))
    if offsets is not None:
        spans = [(offsets[s], offsets[e - 1] + 1) for s, e in spans]
    return spans


def _render(text: str, spans: list[tuple[int, int]], start: int, end: int, as_html: bool) -> str:
    esc = html.escape if as_html else (lambda s: s)
    out, pos = [], start
    for s, e in spans:
        if e <= start or s >= end:
            continue
        s, e = max(s, start), min(e, end)
        out.append(esc(text[pos:s]))
        out.append(f"<mark>{esc(text[s:e])}</mark>" if as_html else f"【{text[s:e]}】")
        pos = e
    out.append(esc(text[pos:end]))
    return "".join(out)


def highlight(text: str | None, query: str | None, as_html: bool = True) -> str:
    """The whole text, HTML-escaped, with every match of the query wrapped in <mark>."""
    text = text or ""
    return _render(text, _spans(text, _needles(query)), 0, len(text), as_html)


def snippet(text: str | None, query: str | None, width: int = 80, as_html: bool = True) -> str:
    """About ``width`` characters around the first match, HTML-escaped, matches in <mark>.

    Without a match (the hit was in the title) it is the start of the text.
    """
    text = text or ""
    spans = _spans(text, _needles(query))
    first = spans[0][0] if spans else 0
    start = max(0, first - width // 4)
    end = min(len(text), start + width)
    body = _render(text, spans, start, end, as_html)
    return ("…" if start > 0 else "") + body + ("…" if end < len(text) else "")


# ------------------------------------------------------------------ SQL functions


def register_functions(conn: sqlite3.Connection) -> None:
    """SQL functions for canned queries and tests: govbrief_match(q), govbrief_snippet(text, q
    [, width]), govbrief_snippet_text(text, q), govbrief_highlight(text, q), govbrief_fold(text)."""
    conn.create_function("govbrief_match", 1, sql_match, deterministic=True)
    conn.create_function("govbrief_fold", 1, fold, deterministic=True)
    conn.create_function("govbrief_snippet", 2, snippet, deterministic=True)
    conn.create_function("govbrief_snippet", 3, lambda t, q, w: snippet(t, q, int(w or 80)),
                         deterministic=True)
    conn.create_function("govbrief_snippet_text", 2, lambda t, q: snippet(t, q, as_html=False),
                         deterministic=True)
    conn.create_function("govbrief_highlight", 2, highlight, deterministic=True)


# ------------------------------------------------------------------ schema and indexing

_TRIGGERS = ARTICLES.triggers


class _NeedsRebuild(Exception):
    """The index lost track of an article's indexed version and must be rebuilt."""


def _create_structures(db: sqlite_utils.Database, index: IndexedTable = ARTICLES) -> None:
    a, b = index.columns
    db.execute(f"""CREATE VIRTUAL TABLE IF NOT EXISTS {index.fts} USING fts5(
        {a}, {b}, content='', tokenize='ascii', prefix='1', detail=full)""")
    db.execute(f"INSERT INTO {index.fts}({index.fts}, rank) VALUES('rank', ?)", [RANK])
    db.execute(f"""CREATE TABLE IF NOT EXISTS {index.pending} (
        id INTEGER PRIMARY KEY, kind TEXT NOT NULL, {a} TEXT, {b} TEXT)""")
    for sql in index.triggers.values():
        db.execute(sql)


def _stored_version(db: sqlite_utils.Database, names: set[str]) -> str | None:
    if INFO_TABLE not in names:
        return None
    row = next(db.query(f"SELECT value FROM {INFO_TABLE} WHERE key = 'version'"), None)
    return row["value"] if row else None


def _present(names: set[str]) -> list[IndexedTable]:
    """The indexes whose table exists (attachments arrive with a migration), from the table names."""
    return [index for index in INDEXES if index.table in names]


def ensure_search_schema(db: sqlite_utils.Database) -> None:
    """Create the indexes (building them from existing rows), or rebuild them when their format or
    the fold table changed. Idempotent and cheap when everything is current."""
    names = set(db.table_names())
    if "articles" not in names:
        return
    present = _present(names)
    if any(index.fts not in names for index in present) or _stored_version(db, names) != index_version():
        rebuild_search_index(db)
        return
    try:
        with db.conn:
            for index in present:
                _create_structures(db, index)  # re-creates triggers someone dropped
                sync_search_index(db, index=index)
    except _NeedsRebuild:
        rebuild_search_index(db)


def _index_rows(db: sqlite_utils.Database, rows: Iterable[tuple[int, str | None, str | None]],
                index: IndexedTable = ARTICLES) -> int:
    n = 0

    def gen() -> Iterator[tuple[int, str, str]]:
        nonlocal n
        for row_id, first, second in rows:
            n += 1
            yield row_id, tokens(first), tokens(second)

    a, b = index.columns
    db.conn.executemany(f"INSERT INTO {index.fts}(rowid, {a}, {b}) VALUES (?, ?, ?)", gen())
    return n


def _rebuild(db: sqlite_utils.Database, *, optimize: bool) -> int:
    """Drop and re-create the indexes and fill them from their tables; does not commit. Returns the
    number of articles indexed."""
    log.info("building the search index (format %s)", index_version())
    counts = {}
    for index in _present(set(db.table_names())):
        for name in index.triggers:
            db.execute(f"DROP TRIGGER IF EXISTS {name}")
        db.execute(f"DROP TABLE IF EXISTS {index.fts}")
        db.execute(f"DROP TABLE IF EXISTS {index.pending}")
        _create_structures(db, index)
        a, b = index.columns
        counts[index.table] = _index_rows(
            db, db.conn.execute(f"SELECT id, {a}, {b} FROM {index.table} ORDER BY id"), index)
        if optimize:
            # merge all b-tree segments into one: smaller and faster to query
            db.execute(f"INSERT INTO {index.fts}({index.fts}) VALUES('optimize')")
    db.execute(f"CREATE TABLE IF NOT EXISTS {INFO_TABLE} (key TEXT PRIMARY KEY, value TEXT)")
    db.execute(f"DELETE FROM {INFO_TABLE} WHERE key = 'version'")
    db.execute(f"INSERT INTO {INFO_TABLE}(key, value) VALUES ('version', ?)", [index_version()])
    return counts.get(ARTICLES.table, 0)


def rebuild_search_index(db: sqlite_utils.Database, *, optimize: bool = True) -> int:
    """Drop and rebuild the whole index from the articles (and attachments) tables; returns the
    number of articles indexed."""
    with db.conn:
        return _rebuild(db, optimize=optimize)


def _is_indexed(db: sqlite_utils.Database, row_id: int, index: IndexedTable = ARTICLES) -> bool:
    # %_docsize holds one row per indexed document of a contentless table
    return db.execute(f"SELECT 1 FROM {index.fts}_docsize WHERE id = ?", [row_id]).fetchone() is not None


def sync_search_index(db: sqlite_utils.Database, ids: Iterable[int] | None = None, *,
                      index: IndexedTable = ARTICLES) -> int:
    """Bring the index up to date for the pending rows (all, or just ``ids``).

    Must run inside the writer's transaction or its own; it does not commit."""
    a, b = index.columns
    if ids is None:
        pending = db.execute(f"SELECT id, kind, {a}, {b} FROM {index.pending}").fetchall()
    else:
        ids = list(ids)
        marks = ",".join("?" * len(ids))
        pending = db.execute(
            f"SELECT id, kind, {a}, {b} FROM {index.pending} WHERE id IN ({marks})", ids
        ).fetchall()
    if not pending:
        return 0
    for row_id, kind, old_first, old_second in pending:
        if kind == "old":
            db.execute(
                f"INSERT INTO {index.fts}({index.fts}, rowid, {a}, {b}) VALUES('delete', ?, ?, ?)",
                [row_id, tokens(old_first), tokens(old_second)],
            )
        elif _is_indexed(db, row_id, index):
            # The indexed version was lost (e.g. INSERT OR REPLACE without recursive triggers
            # skips the delete trigger): deleting needs exact old tokens, so rebuild everything.
            log.warning("search index out of step for %s %s; rebuilding", index.table, row_id)
            raise _NeedsRebuild
    # the current rows in one statement: FTS5 then buffers a whole batch of writes into one segment
    # (a statement per row inside a savepoint each makes a segment per row, merged again and again)
    synced = sorted(row[0] for row in pending)
    for k in range(0, len(synced), 500):
        chunk = synced[k:k + 500]
        marks = ",".join("?" * len(chunk))
        _index_rows(db, db.execute(f"SELECT id, {a}, {b} FROM {index.table} WHERE id IN ({marks}) ORDER BY id",
                                   chunk).fetchall(), index)
        db.execute(f"DELETE FROM {index.pending} WHERE id IN ({marks})", chunk)
    return len(pending)


def index_article(db: sqlite_utils.Database, article_id: int) -> None:
    """Index (or re-index) one article after it was inserted or updated; called by storage inside
    its transaction, so it does not commit. A no-op when title and text did not change."""
    index_row(db, ARTICLES, article_id)


def index_row(db: sqlite_utils.Database, index: IndexedTable, row_id: int) -> None:
    """Index (or re-index) one row of an indexed table after a write, inside the writer's transaction."""
    index_rows(db, index, [row_id])


def index_rows(db: sqlite_utils.Database, index: IndexedTable, row_ids: Iterable[int]) -> None:
    """Index (or re-index) rows of an indexed table after writes, inside the writer's transaction: a
    batch writer indexes its whole batch at once, after its rows (see sync_search_index)."""
    try:
        sync_search_index(db, row_ids, index=index)
    except _NeedsRebuild:
        _rebuild(db, optimize=False)


# ------------------------------------------------------------------ query helpers

def search_ids(conn: sqlite3.Connection | sqlite_utils.Database, query: str, *,
               order: str = "rank", limit: int | None = None, offset: int = 0) -> list[int]:
    """Article ids matching ``query``: by relevance ("rank") or newest first ("newest")."""
    expr = match_expression(query)
    if expr is None:
        return []
    order_sql = "s.rank" if order == "rank" else "a.published DESC, a.id DESC"
    sql = (f"SELECT a.id FROM {FTS_TABLE} s JOIN articles a ON a.id = s.rowid "
           f"WHERE {FTS_TABLE} MATCH ? ORDER BY {order_sql}")
    params: list[Any] = [expr]
    if limit is not None:
        sql += " LIMIT ? OFFSET ?"
        params += [limit, offset]
    return [r[0] for r in conn.execute(sql, params).fetchall()]
