"""The crawl frontier: every list page and article URL a source has to visit, with its state, in archive.db.

Why it lives in the archive: a crawl can die at any moment (kill -9, SIGTERM, a full disk, a power cut).
What a run learnt from a list page must then survive in the same file as what it archived, so the next
run goes on where this one stopped instead of re-discovering the backlog from page 1 (and stopping at the
first page with nothing new, which lost most of a column before).

States of a row (`crawl_frontier`, one per source and URL key):
  pending   queued, not processed yet (the next run requests it)
  done      list page: its response was processed and its links queued, in one transaction;
            article: archived
  failed    the last attempt failed; `attempts` counts them, `next_try` says when to try again
            (a first transient failure: the next run; then an exponential backoff; a permanent-looking
            failure such as 404, a soft 404 or a non-article response starts at the base delay)

A source's backlog is *walked* once every list page it led to is done (`crawl_backlog.walked_at`). Until
then every list page is followed whatever it offers; afterwards a run re-reads the first pages and follows
pagination only while pages offer something new (incremental mode).

Plain functions over a sqlite-utils Database, each write one short transaction; the Scrapy spider and
pipeline call them through a thin layer (crawler/), so the capture/processing split can call them too.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import sqlite_utils

from pipelines.store.storage import utc_now

PENDING, DONE, FAILED = "pending", "done", "failed"
DEFAULT_BASE_HOURS = 20.0  # first backoff step: a daily cron run retries the next day
MAX_BACKOFF_DAYS = 30.0  # a dead link is still looked at monthly (sites restore pages)


def migrate_frontier_states(db: sqlite_utils.Database) -> None:
    """Migration 10: states, attempts and next try on crawl_frontier; crawl_backlog; old failures seeded.

    Rows of older archives keep their meaning (pending). Article URLs that failed in earlier runs and
    are not archived become failed rows with their number of failed runs as attempts, so the new
    backoff applies to them at once."""
    columns = db["crawl_frontier"].columns_dict
    for name, ddl in (("state", "TEXT NOT NULL DEFAULT 'pending'"), ("attempts", "INTEGER NOT NULL DEFAULT 0"),
                      ("next_try", "TEXT"), ("last_error", "TEXT"), ("updated_at", "TEXT"), ("via", "TEXT"),
                      ("request", "TEXT"), ("lastmod", "TEXT")):
        if name not in columns:
            db.execute(f"ALTER TABLE crawl_frontier ADD COLUMN [{name}] {ddl}")
    db["crawl_frontier"].create_index(["source_id", "kind", "state"], if_not_exists=True)
    db["crawl_backlog"].create({"source_id": str, "walked_at": str, "runs": int}, pk="source_id",
                               if_not_exists=True)
    now = utc_now()
    db.execute("""insert or ignore into crawl_frontier (source_id, url, kind, depth, added_at, state, attempts,
                  next_try, last_error, updated_at)
                  select source_id, url, kind, 0, min(at), 'failed', count(distinct run_id), ?, max(reason), ?
                  from fetch_errors where kind = 'article' and reason not like 'refused:%'
                  and url not in (select url from articles) and source_id is not null group by source_id, url""",
               [now, now])


def retry_at(attempts: int, *, permanent: bool, base_hours: float = DEFAULT_BASE_HOURS,
             now: datetime | None = None) -> str:
    """When a URL that failed `attempts` times is tried again.

    A first transient failure (timeout, 5xx, reset) is retried by the next run; after that, and for
    permanent-looking failures (404/410, soft 404, not an article) from the start, base * 2^k up to
    MAX_BACKOFF_DAYS: a dead link costs one request a month, not one a night."""
    now = now or datetime.now(UTC)
    steps = attempts - 1 if permanent else attempts - 2
    if steps < 0:
        delay = timedelta(0)
    else:
        delay = min(timedelta(hours=base_hours) * (2 ** min(steps, 20)), timedelta(days=MAX_BACKOFF_DAYS))
    return (now + delay).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass
class QueuedList:
    """A list page to request: URL key, depth, how it was found, and for a POST its request."""

    url: str
    depth: int = 0
    via: str = "list"  # start | pager | list | frame | jpage | sitemap
    request: dict | None = None  # {"url": ..., "form": [[k, v], ...]} for a POSTed page

    def as_list(self) -> list:
        """JSON-ready form (a request's meta and a frontier write travel through Redis for scale-out)."""
        return [self.url, self.depth, self.via, self.request]

    def row(self) -> list:
        """Its frontier row's own values (url, depth, via, the request as JSON text), as `_queue` inserts them."""
        return [self.url, self.depth, self.via, json.dumps(self.request, ensure_ascii=False) if self.request else None]


@dataclass
class SourcePlan:
    """What a run of one source starts from (see plan)."""

    walked: bool  # the backlog has been walked to the end once: incremental mode
    lists: list[QueuedList] = field(default_factory=list)  # pending or due failed list pages
    articles: list[str] = field(default_factory=list)  # pending or due failed article URLs
    settled: set[str] = field(default_factory=set)  # article keys done, or failed and not due yet
    failed_before: set[str] = field(default_factory=set)  # keys that failed in an earlier run
    done_lists: set[str] = field(default_factory=set)  # list pages already processed
    held_lists: set[str] = field(default_factory=set)  # list pages failed, next try not due yet
    attachments: list[tuple[str, str, str]] = field(default_factory=list)  # (url, article URL, link text) due
    sitemap_lastmods: dict[str, str] = field(default_factory=dict)  # sitemap URL -> <lastmod> when last read


def plan(db: sqlite_utils.Database, source_id: str, now: str | None = None) -> SourcePlan:
    """Read a source's frontier at the start of a run."""
    now = now or utc_now()
    walked = db.execute("select 1 from crawl_backlog where source_id = ? and walked_at is not null",
                        [source_id]).fetchone() is not None
    result = SourcePlan(walked)
    rows = db.execute("select url, kind, depth, state, next_try, via, request, attempts, lastmod from crawl_frontier"
                      " where source_id = ? order by rowid", [source_id]).fetchall()
    for url, kind, depth, state, next_try, via, request, attempts, lastmod in rows:
        if kind == "sitemap":
            if state == DONE and lastmod:
                result.sitemap_lastmods[url] = lastmod
            continue
        due = state == PENDING or (state == FAILED and (next_try or "") <= now)
        if state == FAILED or (state == PENDING and attempts):
            result.failed_before.add(url)
        if kind == "list":
            if due:
                request = json.loads(request) if request else None
                result.lists.append(QueuedList(url, depth or 0, via or "list", request))
            elif state == DONE:
                result.done_lists.add(url)
            else:
                result.held_lists.add(url)
        elif kind == "article":
            if due:
                result.articles.append(url)
            else:
                result.settled.add(url)
        elif kind == "attachment" and due and request:
            found = json.loads(request)
            result.attachments.append((url, found.get("article_url", ""), found.get("text", "")))
    return result


def sitemap_processed(db: sqlite_utils.Database, source_id: str, url: str, lastmod: str | None,
                      articles: Iterable[str]) -> None:
    """A sitemap was read: its articles queued and the sitemap remembered with the <lastmod> its index gave
    (a later run skips it while that date is unchanged), in one transaction."""
    now = utc_now()
    with db.conn:
        _queue(db, source_id, articles, (), (), now)
        db.execute("insert into crawl_frontier (source_id, url, kind, depth, added_at, state, lastmod, updated_at)"
                   " values (?, ?, 'sitemap', 0, ?, 'done', ?, ?) on conflict (source_id, url) do update set"
                   " state = 'done', lastmod = excluded.lastmod, updated_at = excluded.updated_at",
                   [source_id, url, now, lastmod, now])


def queue_attachment(db: sqlite_utils.Database, source_id: str, url: str, article_url: str, text: str) -> None:
    """An attachment link of an article, queued with what it needs to be listed under that article."""
    now = utc_now()
    with db.conn:
        db.execute("insert or ignore into crawl_frontier (source_id, url, kind, depth, added_at, state, updated_at,"
                   " request) values (?, ?, 'attachment', 0, ?, 'pending', ?, ?)",
                   [source_id, url, now, now, json.dumps({"article_url": article_url, "text": text},
                                                         ensure_ascii=False)])


def queue(db: sqlite_utils.Database, source_id: str, *, articles: Iterable[str] = (),
          lists: Iterable[QueuedList] = (), reread: Iterable[str] = (), now: str | None = None) -> None:
    """Queue URLs as pending (kept as they are when already known). `reread`: list keys to set back
    to pending even if done (incremental mode re-reads a page because the one before had news)."""
    with db.conn:
        _queue(db, source_id, articles, lists, reread, now or utc_now())


def _queue(db: sqlite_utils.Database, source_id: str, articles: Iterable[str], lists: Iterable[QueuedList],
           reread: Iterable[str], now: str) -> None:
    # One statement per kind, its rows passed as a JSON array (json_each): executemany steps SQLite
    # once per row and gives up the GIL at each step, and in the crawl's archive writer thread each
    # step then waits for Scrapy's reactor to hand the GIL back (up to the 5 ms switch interval). A
    # TRS pager's first list page queues ~100 list pages and 20 articles: 0.5-0.6 s of the crawl's
    # first transaction went there (docs/architecture.md, sixth session of 2026-12-07).
    articles, lists, reread = list(articles), list(lists), list(reread)
    if articles:
        db.execute("insert or ignore into crawl_frontier (source_id, url, kind, depth, added_at, state, updated_at)"
                   " select ?, value, 'article', 0, ?, 'pending', ? from json_each(?) order by key",
                   [source_id, now, now, json.dumps(articles, ensure_ascii=False)])
    if lists:
        rows = [q.row() for q in lists]
        db.execute("insert or ignore into crawl_frontier (source_id, url, kind, depth, added_at, via, request,"
                   " state, updated_at) select ?, json_extract(value, '$[0]'), 'list', json_extract(value, '$[1]'), ?,"
                   " json_extract(value, '$[2]'), json_extract(value, '$[3]'),"
                   " 'pending', ? from json_each(?) order by key",
                   [source_id, now, now, json.dumps(rows, ensure_ascii=False)])
    if reread:
        db.execute("update crawl_frontier set state = 'pending', updated_at = ? where source_id = ? and kind = 'list'"
                   " and state = 'done' and url in (select value from json_each(?))",
                   [now, source_id, json.dumps(reread, ensure_ascii=False)])


def list_processed(db: sqlite_utils.Database, source_id: str, url: str, *, articles: Iterable[str] = (),
                   lists: Iterable[QueuedList] = (), reread: Iterable[str] = (), depth: int = 0,
                   via: str = "list") -> dict[str, str]:
    """A list page was read: queue its links and mark it done, in ONE transaction (a kill before the
    commit leaves the page pending, after it leaves its links queued). Returns the state of each
    queued list key after the commit, so the caller requests only what is still pending."""
    now = utc_now()
    lists = list(lists)
    with db.conn:
        _queue(db, source_id, articles, lists, reread, now)
        db.execute("insert into crawl_frontier (source_id, url, kind, depth, added_at, via, state, attempts,"
                   " updated_at) values (?, ?, 'list', ?, ?, ?, 'done', 0, ?) on conflict (source_id, url) do update"
                   " set state = 'done', attempts = 0, next_try = null, last_error = null,"
                   " updated_at = excluded.updated_at",
                   [source_id, url, depth, now, via, now])
    if not lists:
        return {}
    # one row (a JSON object), not one per key: each row fetched is a step that gives up the GIL (above)
    found = db.execute("select json_group_object(url, state) from crawl_frontier where source_id = ? and url in"
                       " (select value from json_each(?))",
                       [source_id, json.dumps([q.url for q in lists], ensure_ascii=False)]).fetchone()[0]
    return json.loads(found)  # '{}' when none is there


def mark_failed(db: sqlite_utils.Database, source_id: str, url: str, kind: str, error: str, *,
                permanent: bool, base_hours: float = DEFAULT_BASE_HOURS, depth: int = 0) -> int:
    """Record a failed attempt (list page or article) with its next try; returns the attempts so far."""
    now = utc_now()
    with db.conn:
        row = db.execute("select attempts from crawl_frontier where source_id = ? and url = ?",
                         [source_id, url]).fetchone()
        attempts = (row[0] if row else 0) + 1
        db.execute("insert into crawl_frontier (source_id, url, kind, depth, added_at, state, attempts, next_try,"
                   " last_error, updated_at) values (?, ?, ?, ?, ?, 'failed', ?, ?, ?, ?)"
                   " on conflict (source_id, url) do update set state = 'failed', attempts = excluded.attempts,"
                   " next_try = excluded.next_try, last_error = excluded.last_error, updated_at = excluded.updated_at",
                   [source_id, url, kind, depth, now, attempts,
                    retry_at(attempts, permanent=permanent, base_hours=base_hours), error[:500], now])
    return attempts


def mark_done(db: sqlite_utils.Database, source_id: str, urls: Iterable[str], kind: str = "article") -> None:
    """Articles archived (or any rows finished): done, errors cleared."""
    now = utc_now()
    with db.conn:
        db.conn.executemany("insert into crawl_frontier (source_id, url, kind, depth, added_at, state, attempts,"
                            " updated_at) values (?, ?, ?, 0, ?, 'done', 0, ?) on conflict (source_id, url) do update"
                            " set state = 'done', attempts = 0, next_try = null, last_error = null,"
                            " updated_at = excluded.updated_at", [(source_id, url, kind, now, now) for url in urls])


def settle_backlog(db: sqlite_utils.Database, source_id: str) -> bool:
    """At the end of a run that finished by itself: the backlog is walked once no list page of the
    source is pending or failed. Returns whether it is (now) walked."""
    with db.conn:
        open_lists = db.execute("select count(*) from crawl_frontier where source_id = ? and kind = 'list'"
                                " and state != 'done'", [source_id]).fetchone()[0]
        if open_lists:
            return db.execute("select 1 from crawl_backlog where source_id = ? and walked_at is not null",
                              [source_id]).fetchone() is not None
        db.execute("insert into crawl_backlog (source_id, walked_at, runs) values (?, ?, 1) on conflict (source_id)"
                   " do update set walked_at = coalesce(walked_at, excluded.walked_at), runs = runs + 1",
                   [source_id, utc_now()])
    return True


def unfinished(db: sqlite_utils.Database, source_id: str | None = None) -> int:
    """Rows still to do (pending, or failed and to be retried): 0 once a crawl has worked everything off."""
    sql = "select count(*) from crawl_frontier where state = 'pending'"
    params: list = []
    if source_id is not None:
        sql += " and source_id = ?"
        params.append(source_id)
    return db.execute(sql, params).fetchone()[0]


def migrate_canonical_keys(db: sqlite_utils.Database) -> None:
    """Migration 12: URL keys of older archives re-canonicalised with pipelines.urls.canonical_url (w3lib),
    so an article stored as `?b=2&a=1` or with a lower-case escape is not fetched again under its new key.

    Articles whose new key already exists (the same page archived twice under two spellings) keep the
    older spelling rather than merging rows here; every other table follows its rows' new keys."""
    from pipelines.urls import canonical_url

    def changed(table: str, column: str = "url") -> list[tuple[str, str]]:
        pairs = []
        for (url,) in db.execute(f"select distinct [{column}] from [{table}] where [{column}] is not null").fetchall():
            key = canonical_url(url)
            if key != url:
                pairs.append((url, key))
        return pairs

    tables = {r[0] for r in db.execute("select name from sqlite_master where type = 'table'").fetchall()}
    taken = {r[0] for r in db.execute("select url from articles").fetchall()}
    for old, new in changed("articles"):
        if new not in taken:
            db.execute("update articles set url = ? where url = ?", [new, old])
            taken.add(new)
    for table, column in (("captures", "url"), ("fetch_errors", "url"), ("article_events", "url"),
                          ("boilerplate_pages", "url")):
        if table in tables:
            db.conn.executemany(f"update [{table}] set [{column}] = ? where [{column}] = ?",
                                [(new, old) for old, new in changed(table, column)])
    for old, new in changed("crawl_frontier"):
        db.execute("update or ignore crawl_frontier set url = ? where url = ?", [new, old])
        db.execute("delete from crawl_frontier where url = ?", [old])  # a row already held the new key
