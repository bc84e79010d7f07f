"""Incremental repost lineage: new articles against persisted LSH state, memory bounded by the batch.

`cluster_archive` (clusters.py) recomputes the clusters of the whole archive, with every article's
sketch in memory: fine for `govbrief lineage`, but after every crawl its memory grows with the
archive (553 MB at 5k articles, gigabytes at 100k). `update_lineage` does the same work only for
articles it has not seen, `batch` at a time, against state kept in SQLite:

  lineage_docs   article_id PK, n_shingles, n_fps, bands (16 bucket keys), fps (fingerprints), both
                 as int64 blobs: what was indexed, so it can be taken out again exactly
  lineage_bands  (band, bucket, article_id): the LSH band buckets of the one-permutation MinHash
  lineage_fps    (fp, article_id): the containment fingerprints (1 shingle in 8)
  lineage_dirty  article_id: written by triggers when an article's title, text, publication date or
                 来源 changes, or it is deleted (re-check edits, re-extraction): the date and the
                 来源 decide the canonical copy and its evidence

For each batch, exactly as the full computation would pair them (clusters.py):
  * LSH: a new article sharing a bucket with indexed articles is paired with the bucket's first
    (lowest id) member - the star the full computation builds - else with the batch's first;
  * containment: indexed articles sharing >= MIN_SHARED_FP fingerprints (each in at most DF_CAP
    articles) and >= FP_RATIO of the smaller's, looked up through the fp index;
  * pairs are verified on exact shingle sets (accept_pair) and joined with the clusters the
    articles already belong to; touched clusters are rewritten with their canonical chosen again.
A changed article takes its whole cluster out of the state; the members come back as new articles
in the next batch, so the result is again what the full computation gives.

Why not datasketch's MinHashLSH: its MinHash costs 3.3 ms per article against 0.1 ms for the numpy
one-permutation sketch (docs/lineage.md), and its storage backends are Redis/Cassandra or a pickle of
the whole index; band buckets in SQLite cost one indexed lookup per band and live in the archive.
"""

from __future__ import annotations

import itertools
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import sqlite_utils

from pipelines.lineage.clusters import (
    DF_CAP,
    FP_RATIO,
    LSH_BANDS,
    MIN_SHARED_FP,
    Doc,
    _iter_rows,
    _shingles_of,
    _UnionFind,
    accept_pair,
    accepted_pairs,
    band_keys,
    canonical_key,
    containment_candidates,
    ensure_lineage_schema,
    pair_stats,
    rank_in_runs,
    sketch_rows,
)

BATCH = 2000  # articles per step: bounds memory (sketches, texts of the batch and of touched clusters)
# Shingle hashes kept across steps for the articles compared last (RecentArticles): ~16 MB of int64.
RECENT_HASHES = 2_000_000


# What an indexed article's cluster depends on, besides its text: the title (evidence), the publication
# date (the canonical copy is the earliest) and 来源 (evidence of who copied whom).
_DIRTY_ON_UPDATE = """CREATE TRIGGER IF NOT EXISTS lineage_dirty_au
    AFTER UPDATE OF title, text, text_simplified, published, source_org ON articles
    WHEN old.title IS NOT new.title OR old.text IS NOT new.text OR old.text_simplified IS NOT new.text_simplified
      OR old.published IS NOT new.published OR old.source_org IS NOT new.source_org BEGIN
      INSERT OR IGNORE INTO lineage_dirty(article_id) SELECT new.id
        WHERE EXISTS (SELECT 1 FROM lineage_docs WHERE article_id = new.id);
    END"""


def mark_dirty_on_date_and_source(db: sqlite_utils.Database) -> None:
    """Migration 62: the trigger also fires when the publication date or 来源 changes (a re-extraction
    that finds a page's date), so the family's canonical copy is chosen again."""
    ensure_incremental_schema(db)
    db.execute("DROP TRIGGER IF EXISTS lineage_dirty_au")
    db.execute(_DIRTY_ON_UPDATE)


def ensure_incremental_schema(db: sqlite_utils.Database) -> None:
    """Migration 3: the persisted LSH state and the triggers that mark changed articles."""
    ensure_lineage_schema(db)
    db.execute("""CREATE TABLE IF NOT EXISTS lineage_docs (article_id INTEGER PRIMARY KEY,
        n_shingles INTEGER NOT NULL, n_fps INTEGER NOT NULL, bands BLOB, fps BLOB)""")
    db.execute("""CREATE TABLE IF NOT EXISTS lineage_bands (band INTEGER NOT NULL, bucket INTEGER NOT NULL,
        article_id INTEGER NOT NULL, PRIMARY KEY (band, bucket, article_id)) WITHOUT ROWID""")
    db.execute("""CREATE TABLE IF NOT EXISTS lineage_fps (fp INTEGER NOT NULL, article_id INTEGER NOT NULL,
        PRIMARY KEY (fp, article_id)) WITHOUT ROWID""")
    db.execute("CREATE TABLE IF NOT EXISTS lineage_dirty (article_id INTEGER PRIMARY KEY)")
    db.execute(_DIRTY_ON_UPDATE)
    db.execute("""CREATE TRIGGER IF NOT EXISTS lineage_dirty_ad AFTER DELETE ON articles BEGIN
          INSERT OR IGNORE INTO lineage_dirty(article_id) SELECT old.id
            WHERE EXISTS (SELECT 1 FROM lineage_docs WHERE article_id = old.id);
        END""")


def preload_libraries() -> None:
    """Load what update_lineage loads on first use: scipy's sparse matrices (~0.15 s) and OpenCC's
    Traditional -> Simplified converter that titles are compared through (~0.2 s). A crawl calls this
    in a thread while it waits for processing to drain, instead of after."""
    from scipy import sparse  # noqa: F401

    from pipelines.chinese import to_simplified

    to_simplified("發佈")


class RecentArticles:
    """The Docs and shingle hashes of the articles the last steps compared, kept across steps.

    A batch is verified against older articles: the heads of the LSH buckets it falls in and the first
    carriers of its fingerprints, which are much the same articles from one batch to the next. Without
    this, every step read their texts and shingled them again: at 20,000 articles in steps of 500,
    71,000 such reloads, more than half of update_lineage's time. Least recently used first out, bounded
    by the hashes held (max_hashes), not by the archive. An article that changes is forgotten
    (its step takes it out of the state and out of here)."""

    def __init__(self, max_hashes: int = RECENT_HASHES) -> None:
        self.max_hashes = max_hashes
        self._items: OrderedDict[int, tuple[Doc, np.ndarray]] = OrderedDict()
        self._hashes = 0

    def get(self, article_id: int) -> tuple[Doc, np.ndarray] | None:
        item = self._items.get(article_id)
        if item is not None:
            self._items.move_to_end(article_id)
        return item

    def keep(self, docs: dict[int, Doc], shingles: dict[int, np.ndarray]) -> None:
        for article_id, doc in docs.items():
            hashes = shingles.get(article_id)
            if hashes is None or article_id in self._items:
                continue
            self._items[article_id] = (doc, hashes)
            self._hashes += len(hashes)
        while self._hashes > self.max_hashes and self._items:
            _, (_, hashes) = self._items.popitem(last=False)
            self._hashes -= len(hashes)

    def forget(self, article_ids: Iterable[int]) -> None:
        for article_id in article_ids:
            item = self._items.pop(article_id, None)
            if item is not None:
                self._hashes -= len(item[1])


def update_lineage(db: sqlite_utils.Database, *, batch: int = BATCH,
                   recent: RecentArticles | None = None) -> dict[str, Any]:
    """Cluster the articles the state has not seen (and re-cluster changed ones), batch by batch,
    one transaction each. Idempotent; a kill loses at most the batch in progress. recent: the
    articles earlier steps compared (a caller that stepped already passes its own)."""
    t0 = time.perf_counter()
    ensure_incremental_schema(db)
    articles = 0
    recent = RecentArticles() if recent is None else recent
    while done := lineage_step(db, batch, recent):
        articles += done
    row = db.execute("select count(*), coalesce(sum(size), 0), coalesce(max(size), 0) from clusters").fetchone()
    return {"articles": articles, "clusters": row[0], "clustered_articles": row[1], "largest": row[2],
            "seconds": round(time.perf_counter() - t0, 2)}


def lineage_step(db: sqlite_utils.Database, batch: int, recent: RecentArticles) -> int:
    """One step of update_lineage, in one transaction (the schema must exist: ensure_incremental_schema);
    returns how many articles it took (0: nothing left). For a caller that clusters while articles are
    still being written (the crawl, while processing drains): whatever the steps, the clusters are
    those of the whole computation."""
    with db.conn:
        return _step(db, batch, recent)


def articles_not_indexed(db: sqlite_utils.Database) -> int:
    """Articles newer than the newest the state has indexed: what the next steps will take, besides
    the edited ones (lineage_dirty). A rowid range, not an anti-join: cheap to ask often at any size."""
    return db.execute("select count(*) from articles where id > "
                      "(select coalesce(max(article_id), 0) from lineage_docs)").fetchone()[0]


# ---------------------------------------------------------------- one batch


def _step(db: sqlite_utils.Database, batch: int, recent: RecentArticles) -> int:
    """Index one batch; returns how many articles it took (0: nothing left)."""
    dirty = [r[0] for r in db.execute("select article_id from lineage_dirty limit ?", [batch])]
    if dirty:
        members = _dissolve(db, dirty)
        recent.forget(set(dirty) | members)
        for article_id in set(dirty) | members:
            _unindex(db, article_id)
        db.execute(f"delete from lineage_dirty where article_id in ({_marks(dirty)})", dirty)
    ids = [r[0] for r in db.execute(
        "select a.id from articles a left join lineage_docs d on d.article_id = a.id where d.article_id is null "
        "order by a.id limit ?", [batch])]
    if not ids:
        return len(dirty)
    rows = {r["id"]: r for r in _iter_rows(db, ids)}
    shingles: dict[int, np.ndarray] = {}  # the batch's, kept for verification (bounded by the batch)
    docs, sketches, fps = sketch_rows((rows[i] for i in ids), shingles)
    keys = band_keys(sketches).view(np.int64) if len(docs) else np.empty((0, LSH_BANDS), dtype=np.int64)
    pairs = _band_pairs(db, docs, keys) + _fp_pairs(db, docs, fps)
    _link(db, docs, pairs, rows, shingles, recent)
    _index(db, ids, docs, keys, fps)
    return len(ids) + len(dirty)


def _marks(values: Iterable[Any]) -> str:
    return ",".join("?" * len(list(values)))


def _dissolve(db: sqlite_utils.Database, article_ids: list[int]) -> set[int]:
    """Remove the clusters these articles belong to; returns all their members."""
    cluster_ids = [r[0] for r in db.execute(
        f"select distinct cluster_id from article_clusters where article_id in ({_marks(article_ids)})", article_ids)]
    if not cluster_ids:
        return set()
    members = {r[0] for r in db.execute(
        f"select article_id from article_clusters where cluster_id in ({_marks(cluster_ids)})", cluster_ids)}
    db.execute(f"delete from article_clusters where cluster_id in ({_marks(cluster_ids)})", cluster_ids)
    db.execute(f"delete from clusters where id in ({_marks(cluster_ids)})", cluster_ids)
    return members


def _unindex(db: sqlite_utils.Database, article_id: int) -> None:
    row = db.execute("select bands, fps from lineage_docs where article_id = ?", [article_id]).fetchone()
    if row is None:
        return
    bands = np.frombuffer(row[0] or b"", dtype=np.int64)
    db.conn.executemany("delete from lineage_bands where band = ? and bucket = ? and article_id = ?",
                        [(band, int(key), article_id) for band, key in enumerate(bands)])
    db.conn.executemany("delete from lineage_fps where fp = ? and article_id = ?",
                        [(int(fp), article_id) for fp in np.frombuffer(row[1] or b"", dtype=np.int64)])
    db.execute("delete from lineage_docs where article_id = ?", [article_id])


def _index(db: sqlite_utils.Database, ids: list[int], docs: list[Doc], keys: np.ndarray,
           fps: list[np.ndarray]) -> None:
    sketched = {d.article_id: k for k, d in enumerate(docs)}
    doc_rows, band_rows, fp_rows = [], [], []
    for article_id in ids:
        k = sketched.get(article_id)
        if k is None:  # no text to compare: remembered, so it is not looked at again
            doc_rows.append((article_id, 0, 0, None, None))
            continue
        f = fps[k].view(np.int64)
        doc_rows.append((article_id, docs[k].n_shingles, len(f), keys[k].tobytes(), f.tobytes()))
        # rows made in C (tolist, zip) rather than by a generator calling int() per fingerprint (~200
        # an article): update_lineage over the 20,000-article bench crawl 9.52 -> 9.34 s of CPU
        band_rows.extend(zip(range(len(keys[k])), keys[k].tolist(), itertools.repeat(article_id)))
        fp_rows.extend(zip(f.tolist(), itertools.repeat(article_id)))
    db.conn.executemany("insert or replace into lineage_docs values (?, ?, ?, ?, ?)", doc_rows)
    db.conn.executemany("insert or ignore into lineage_bands values (?, ?, ?)", band_rows)
    db.conn.executemany("insert or ignore into lineage_fps values (?, ?)", fp_rows)


# ---------------------------------------------------------------- candidates

Pair = tuple[int, int]  # article ids


def _band_pairs(db: sqlite_utils.Database, docs: list[Doc], keys: np.ndarray) -> list[Pair]:
    """Each bucket is a star around its lowest article id, over the state and the batch together."""
    db.execute("create temp table if not exists lineage_tmp_keys (k INTEGER, band INTEGER, bucket INTEGER)")
    db.execute("delete from lineage_tmp_keys")
    db.conn.executemany("insert into lineage_tmp_keys values (?, ?, ?)",
                        [(k, band, int(key)) for k in range(len(docs)) for band, key in enumerate(keys[k])])
    # each key's bucket head: one seek in the (band, bucket, article_id) key per key. A join grouped by
    # key read every member of every bucket instead (buckets of common phrasing hold thousands), which
    # made each batch slower than the one before (0.8 -> 3.3 s per 2,000 articles over 20,000).
    heads = {(k, band): head for k, band, head in db.execute(
        """select t.k, t.band, (select b.article_id from lineage_bands b where b.band = t.band
                                and b.bucket = t.bucket order by b.article_id limit 1) as head
             from lineage_tmp_keys t where head is not null""")}
    db.execute("delete from lineage_tmp_keys")
    pairs: list[Pair] = []
    first_in_batch: dict[tuple[int, int], int] = {}
    for k, doc in enumerate(docs):  # docs are in article id order
        for band in range(LSH_BANDS):
            head = heads.get((k, band))
            if head is None:
                head = first_in_batch.setdefault((band, int(keys[k, band])), doc.article_id)
            if head != doc.article_id:
                pairs.append((head, doc.article_id))
    return pairs


def _fp_pairs(db: sqlite_utils.Database, docs: list[Doc], fps: list[np.ndarray]) -> list[Pair]:
    """Containment candidates: within the batch, and against the indexed articles.

    A fingerprint links only the first DF_CAP articles (by id) that carry it (clusters.py), counted
    over the state and the batch: what the whole-archive computation does, whatever the batches.
    Against the state, only a fingerprint's first DF_CAP indexed carriers can be linked, so they are
    read (at most DF_CAP rows per fingerprint) and the shared counts are one sparse product, as in
    the whole-archive computation (a SQL join grouped by pair cost ~3 ms per article at 20,000)."""
    from scipy import sparse

    if not docs:
        return []
    signed = [f.view(np.int64) for f in fps]
    values = np.concatenate(signed)
    if not len(values):  # short texts: no fingerprint sampled (LSH still compares them)
        return []
    owners = np.concatenate([np.full(len(f), k, dtype=np.int64) for k, f in enumerate(signed)])
    batch_ids = np.array([d.article_id for d in docs], dtype=np.int64)
    aids = batch_ids[owners]
    counts = np.array([len(f) for f in signed])
    # Usually every indexed article is older than the batch; an article re-indexed after an edit keeps
    # its old id, and then each of its fingerprints is ranked among the carriers one by one.
    newest = db.execute("select coalesce(max(article_id), 0) from lineage_docs").fetchone()[0]
    reindexed = bool(aids.min() < newest)
    # the first DF_CAP indexed carriers of the batch's fingerprints, in id order (without re-indexed
    # articles, none of a fingerprint that has DF_CAP already: it can link no batch article)
    carrier_fp, carrier_id, full = _first_carriers(db, np.unique(values), all_fingerprints=reindexed)
    # rank of each (article, fingerprint) among the fingerprint's carriers: indexed ones with a lower id,
    # then the batch's
    starts = np.searchsorted(carrier_fp, values)
    ends = np.searchsorted(carrier_fp, values, side="right")
    if reindexed:
        lower = np.array([np.count_nonzero(carrier_id[a:b] < aid) for a, b, aid in
                          zip(starts.tolist(), ends.tolist(), aids.tolist(), strict=True)], dtype=np.int64)
    else:
        lower = np.where(np.isin(values, full), DF_CAP, ends - starts)
    order = np.lexsort((aids, values))
    rank = np.empty(len(values), dtype=np.int64)
    rank[order] = rank_in_runs(values[order])
    usable = lower + rank < DF_CAP

    pairs: list[Pair] = []
    for i, j in containment_candidates(values[usable], owners[usable], counts).tolist():
        pairs.append((docs[i].article_id, docs[j].article_id))
    if not len(carrier_fp) or not usable.any():
        return pairs
    # against the state: a usable fingerprint links the batch article with its carriers of a lower id;
    # with one of a higher id (the batch article was re-indexed) when that carrier is among the first too
    cols, col_of = np.unique(values[usable], return_inverse=True)
    batch_matrix = sparse.csr_matrix((np.ones(int(usable.sum()), dtype=np.int32), (owners[usable], col_of)),
                                     shape=(len(docs), len(cols)))
    keep = np.isin(carrier_fp, cols)
    carrier_fp, carrier_id = carrier_fp[keep], carrier_id[keep]
    states, state_row = np.unique(carrier_id, return_inverse=True)
    state_matrix = sparse.csr_matrix((np.ones(len(carrier_fp), dtype=np.int32),
                                      (state_row, np.searchsorted(cols, carrier_fp))), shape=(len(states), len(cols)))
    shared = (batch_matrix @ state_matrix.T).tocoo()
    k_idx, s_idx, n_shared = shared.row, shared.col, shared.data
    later = states[s_idx] > batch_ids[k_idx]
    if later.any():  # rare (a re-indexed batch article): those pairs counted exactly, one by one
        n_shared = n_shared.astype(np.int64)
        n_shared[later] = [_shared_first(carrier_fp, carrier_id, values, aids, usable, owners, k, states[s])
                           for k, s in zip(k_idx[later].tolist(), s_idx[later].tolist(), strict=True)]
    ok = n_shared >= MIN_SHARED_FP
    if not ok.any():
        return pairs
    k_idx, state_ids, n_shared = k_idx[ok], states[s_idx[ok]], n_shared[ok]
    linked = np.unique(state_ids)
    smaller = np.minimum(counts[k_idx], _n_fps(db, linked)[np.searchsorted(linked, state_ids)])
    ok = n_shared >= FP_RATIO * smaller
    pairs.extend(zip(state_ids[ok].tolist(), batch_ids[k_idx[ok]].tolist(), strict=True))
    return pairs


def _first_carriers(db: sqlite_utils.Database, fingerprints: np.ndarray, *,
                    all_fingerprints: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(fingerprint, article id) of the first DF_CAP indexed articles carrying each fingerprint, sorted,
    and the fingerprints that have DF_CAP carriers already. Unless all_fingerprints, the carriers of
    those are not read (none of them can be linked to a newer article): memory is bounded by the
    batch's fingerprints that are still rare, not by how common boilerplate is."""
    db.execute("create temp table if not exists lineage_tmp_uniq (fp INTEGER PRIMARY KEY)")
    db.execute("delete from lineage_tmp_uniq")
    db.conn.executemany("insert into lineage_tmp_uniq values (?)", zip(fingerprints.tolist()))
    # the DF_CAP-th carrier's id: where a fingerprint's first carriers end (NULL: fewer carriers)
    nth = (f"(select o.article_id from lineage_fps o where o.fp = t.fp order by o.article_id "
           f"limit 1 offset {DF_CAP - 1})")
    if all_fingerprints:
        full = np.empty(0, dtype=np.int64)
        rows = db.execute(f"""select t.fp, f.article_id from lineage_tmp_uniq t join lineage_fps f
                               on f.fp = t.fp and f.article_id <= coalesce({nth}, {2 ** 63 - 1})
                              order by t.fp, f.article_id""")
    else:
        full = np.fromiter((r[0] for r in db.execute(f"select t.fp from lineage_tmp_uniq t where {nth} is not null")),
                           dtype=np.int64)
        rows = db.execute(f"""select t.fp, f.article_id from lineage_tmp_uniq t join lineage_fps f on f.fp = t.fp
                              where {nth} is null order by t.fp, f.article_id""")
    found = np.fromiter(itertools.chain.from_iterable(rows), dtype=np.int64).reshape(-1, 2)
    db.execute("delete from lineage_tmp_uniq")
    return found[:, 0], found[:, 1], full


def _shared_first(carrier_fp: np.ndarray, carrier_id: np.ndarray, values: np.ndarray, aids: np.ndarray,
                  usable: np.ndarray, owners: np.ndarray, k: int, state_id: int) -> int:
    """Fingerprints batch article k shares with indexed article state_id through which the two may be
    linked: the later of the two is among the fingerprint's first DF_CAP carriers."""
    n = 0
    own = usable & (owners == k)
    for fp, aid in zip(values[own].tolist(), aids[own].tolist(), strict=True):
        a, b = np.searchsorted(carrier_fp, fp), np.searchsorted(carrier_fp, fp, side="right")
        ids = carrier_id[a:b]
        if state_id not in ids:
            continue
        if state_id < aid or np.count_nonzero(ids < state_id) + np.count_nonzero(
                (values == fp) & (aids < state_id)) < DF_CAP:
            n += 1
    return n


def _n_fps(db: sqlite_utils.Database, article_ids: np.ndarray) -> np.ndarray:
    """The fingerprint counts of indexed articles, as indexed, in the order of article_ids."""
    found: dict[int, int] = {}
    ids = article_ids.tolist()
    for k in range(0, len(ids), 500):
        chunk = ids[k:k + 500]
        found.update(db.execute(f"select article_id, n_fps from lineage_docs where article_id in ({_marks(chunk)})",
                                chunk).fetchall())
    return np.array([found.get(i, 0) for i in ids], dtype=np.int64)


# ---------------------------------------------------------------- verification and clusters


def _link(db: sqlite_utils.Database, docs: list[Doc], pairs: list[Pair], rows: dict[int, dict],
          shingles: dict[int, np.ndarray], recent: RecentArticles) -> None:
    """Verify the pairs and join them with existing clusters.

    rows / shingles: the batch's (partners are added to them). A cluster that keeps its canonical keeps
    its members' rows (the same two texts give the same figures) and gains rows for its newcomers; one
    whose canonical is beaten by a newcomer or by another cluster's is dissolved into the group, its
    members measured against the new canonical. A step costs its new articles and the clusters that
    change hands, not the size of the clusters it touches."""
    from pipelines.lineage.clusters import _doc_of

    known: dict[int, Doc] = {d.article_id: d for d in docs}  # rows and shingles (the step's) grow too

    def load(ids: Iterable[int]) -> None:
        """Docs (n_shingles as indexed) and shingle hashes of articles outside the batch: kept from the
        last steps, else their rows read."""
        missing = []
        for i in sorted(i for i in ids if i not in known):
            hit = recent.get(i)
            if hit is None:
                missing.append(i)
            else:
                known[i], shingles[i] = hit
        if not missing:
            return
        n_shingles = dict(db.execute(
            f"select article_id, n_shingles from lineage_docs where article_id in ({_marks(missing)})", missing))
        for row in _iter_rows(db, missing):
            rows[row["id"]] = row
            n = n_shingles.get(row["id"])
            known.setdefault(row["id"], _doc_of(row, len(hashes(row["id"])) if n is None else n))

    def hashes(article_id: int) -> np.ndarray:
        if article_id not in shingles:
            shingles[article_id] = _shingles_of(rows[article_id])
        return shingles[article_id]

    try:
        _join(db, pairs, known, load, hashes)
    finally:
        recent.keep(known, shingles)


def _join(db: sqlite_utils.Database, pairs: list[Pair], known: dict[int, Doc],
          load: Callable[[Iterable[int]], None], hashes: Callable[[int], np.ndarray]) -> None:
    """_link's work: known, load and hashes give the articles' Docs and shingle hashes."""
    from pipelines.store.storage import utc_now

    pairs = sorted(set(pairs))
    load({a for p in pairs for a in p})
    pairs = [(a, b) for a, b in pairs if a in known and b in known]
    accepted = accepted_pairs(known, {a: hashes(a) for p in pairs for a in p}, pairs)
    if not accepted:
        return
    touched = sorted({a for p in accepted for a in p})
    membership = dict(db.execute(
        f"select article_id, cluster_id from article_clusters where article_id in ({_marks(touched)})", touched))
    # A cluster joins the union-find as one node, named by its id, which is its canonical's article id
    # (an article in no cluster is a node of its own; it cannot be a canonical). The canonical of a
    # group is the smallest canonical_key among its clusters' canonicals and its new articles: the
    # smallest of each cluster's members is its canonical already. So members are read only when
    # their cluster loses its canonical to another; a cluster that keeps it keeps its rows and gains
    # rows for the newcomers alone. (Reading every member of every touched cluster again made each
    # step cost the size of the largest cluster: 4,000 copies of a footer on the bench site.)
    def node(article_id: int) -> int:
        return membership.get(article_id, article_id)

    clustered = set(membership.values())
    nodes = sorted({node(a) for a in touched})
    load(nodes)
    index = {a: k for k, a in enumerate(nodes)}
    uf = _UnionFind(len(nodes))
    for a, b in accepted:
        uf.union(index[node(a)], index[node(b)])
    groups: dict[int, list[int]] = {}
    for a in nodes:
        groups.setdefault(uf.find(index[a]), []).append(a)
    now = utc_now()
    for group in groups.values():
        if len(group) < 2:  # pairs within one cluster: nothing changes
            continue
        canon = min(group, key=lambda a: canonical_key(known[a]))
        kept = canon if canon in clustered else None
        dissolved = [c for c in group if c in clustered and c != kept]
        moved: list[int] = []
        if dissolved:
            moved = [r[0] for r in db.execute(
                f"select article_id from article_clusters where cluster_id in ({_marks(dissolved)})", dissolved)]
            load(moved)
            db.execute(f"delete from article_clusters where cluster_id in ({_marks(dissolved)})", dissolved)
            db.execute(f"delete from clusters where id in ({_marks(dissolved)})", dissolved)
        newcomers = sorted({a for a in group if a not in clustered} | set(moved))
        member_rows = []
        if kept is None:
            member_rows.append({"article_id": canon, "cluster_id": canon, "is_canonical": 1, "similarity": 1.0,
                                "jaccard": 1.0, "evidence": "canonical"})
        for a in newcomers:
            if a == canon:
                continue
            c, jac = pair_stats(hashes(canon), hashes(a))
            member_rows.append({"article_id": a, "cluster_id": canon, "is_canonical": 0,
                                "similarity": round(c, 4), "jaccard": round(jac, 4),
                                "evidence": accept_pair(known[canon], known[a], c, jac) or "linked"})
        if kept is None:
            db["clusters"].insert({"id": canon, "canonical_article_id": canon, "size": len(member_rows),
                                   "updated_at": now})
        else:
            db.execute("update clusters set size = size + ?, updated_at = ? where id = ?",
                       [len(member_rows), now, kept])
        db["article_clusters"].insert_all(member_rows)
