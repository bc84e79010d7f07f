"""Repost lineage: cluster near-duplicate articles across sources and pick the original.

The same government text is republished by Sohu, wenku farms and SEO sites, often wrapped in spam,
converted to Traditional characters or lightly edited. A journalist wants "the original" (the
government page) and "also published at" for every copy. Different articles about the same meeting
share names, places and a lot of official boilerplate, and must NOT be merged.

Method (numbers chosen by measurement, see docs/lineage.md and bench/lineage_bench.py):
  1. normalise: Traditional -> Simplified (the stored text_simplified, else OpenCC t2s), full-width folding, keep
     only CJK characters, letters and digits (punctuation and spacing differ between templates), drop
     very short lines (share buttons, breadcrumbs);
  2. character 5-gram shingles, hashed to 64 bits with numpy (vectorised; no per-shingle Python);
  3. two candidate generators, both linear in the archive size:
     a. MinHash LSH (one-permutation MinHash, 64 bins, 16 bands x 4 rows, Jaccard threshold ~0.5):
        near-duplicates of any cluster size; each band bucket is linked as a star to its first
        member, so a text reposted 1,000 times costs 999 candidate pairs, not 500,000;
     b. containment sketch: every shingle whose hash is 0 mod SAMPLE_MOD is a fingerprint (the same
        text yields the same fingerprints wherever it sits in a page), pairs sharing enough
        fingerprints are candidates. This finds a repost buried in spam or an excerpt, which
        Jaccard-based LSH misses. A fingerprint links only the first DF_CAP articles (in id
        order) that carry it: beyond that it is official boilerplate, no evidence of copying, and
        big repost families are still found by (a). "The first DF_CAP" and not "fingerprints in
        more than DF_CAP articles": the rule must not depend on articles added later, so that
        clustering as articles arrive (incremental.py, any batch size) gives this result;
  4. every candidate pair is verified on the exact shingle sets: containment of the smaller in the
     larger (spam around a repost does not lower it) and Jaccard (edits), plus the title /
     原标题 / 来源 evidence in a narrow grey zone (accept_pair);
  5. union-find over verified pairs; the canonical member is chosen by canonical_key().

datasketch's MinHash was measured at 3.3 ms per 1,500-character article (one sha1 per shingle in
Python): 5.5 minutes for 100,000 articles before any LSH. The numpy one-permutation MinHash here
estimates the same Jaccard similarity in ~0.1 ms, so datasketch is not used on the hot path.

Tables (only clusters of two or more articles are stored; an article without a row is unique):
  clusters         id (= canonical article id, stable across runs), canonical_article_id, size,
                   updated_at
  article_clusters article_id (pk), cluster_id, is_canonical, similarity (containment of the
                   shorter text in the longer, against the canonical), jaccard, evidence
"""

from __future__ import annotations

import multiprocessing
import os
import re
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sqlite_utils

from pipelines.chinese import to_simplified

SHINGLE = 5  # chars; 3-4 make unrelated same-topic articles look alike, 6+ lose short edited copies
MIN_LINE = 6  # normalised chars; shorter lines are buttons, breadcrumbs, share bars
MIN_SHINGLES = 20  # a text shorter than this proves nothing by containment
OPH_BINS = 64
# 16 bands x 4 rows: threshold ~0.5. Measured on the 100k synthetic set (docs/lineage.md): 10 x 6
# cut false candidates 4x but recall fell to 0.984, 12 x 5 to 0.993; 16 x 4 keeps 0.999 and the
# extra candidates cost seconds, not minutes.
LSH_BANDS, LSH_ROWS = 16, 4
SAMPLE_MOD = 8  # containment fingerprints: 1 shingle in 8
DF_CAP = 200  # a fingerprint links its first DF_CAP articles only: beyond, it is boilerplate
MIN_SHARED_FP = 2
FP_RATIO = 0.4  # shared fingerprints / fingerprints of the smaller text, to become a candidate

# Verification thresholds on exact shingle sets (accept_pair)
CONTAINED = 0.9  # the shorter text is (almost) all inside the longer one: repost, spam-wrapped, excerpt
EDITED_CONTAINMENT, EDITED_JACCARD = 0.8, 0.5  # similar length, some sentences changed
EVIDENCE_CONTAINMENT = 0.7  # grey zone: accepted only with a matching title / 原标题 / 来源
SHORT_JACCARD = 0.9  # texts under MIN_SHINGLES: only (near-)identical ones
# No pair below this containment is accepted (containment >= Jaccard, so the short-text rule needs it too):
# verification computes the figures of every candidate at once and asks accept_pair only above it.
LOWEST_ACCEPTED = min(EVIDENCE_CONTAINMENT, EDITED_CONTAINMENT, CONTAINED, SHORT_JACCARD)

_U64 = np.uint64
_MASK_BIN = _U64(64 - 6)  # top 6 bits pick one of 64 OPH bins
_KEEP = re.compile(r"[^0-9a-z\u3400-\u9fff\uf900-\ufaff]+")
_KEEP_NL = re.compile(r"[^0-9a-z\u3400-\u9fff\uf900-\ufaff\n]+")
_ORIG_TITLE = re.compile(r"原标题\s*[:：]\s*(.{4,80})")
_SOURCE_LINE = re.compile(r"来源\s*[:：]\s*([^\s|丨/，,]{2,40})")


# ---------------------------------------------------------------- schema


def ensure_lineage_schema(db: sqlite_utils.Database) -> None:
    """Create the lineage tables and indexes. Idempotent; migrations.ensure_schema calls it."""
    db["clusters"].create(
        {"id": int, "canonical_article_id": int, "size": int, "updated_at": str},
        pk="id", if_not_exists=True,
    )
    db["article_clusters"].create(
        {"article_id": int, "cluster_id": int, "is_canonical": int, "similarity": float, "jaccard": float,
         "evidence": str},
        pk="article_id", if_not_exists=True,
    )
    db["article_clusters"].create_index(["cluster_id"], if_not_exists=True)


# ---------------------------------------------------------------- text -> shingles


# NFKC for what matters here: full-width digits and letters -> ASCII. unicodedata.normalize (and even
# str.translate) cost ~100 us per article, a third of the per-article time, so the fold only runs
# on the rare texts that have full-width alphanumerics; full-width punctuation is dropped anyway.
_FOLD = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
_FULLWIDTH_ALNUM = re.compile("[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]")


def _fold(text: str) -> str:
    return text.translate(_FOLD) if _FULLWIDTH_ALNUM.search(text) else text


def normalise(text: str | None, *, simplified: bool = False) -> str:
    """Comparable form: Simplified, full-width folded, lower-case, only CJK/letters/digits, short lines
    (buttons, breadcrumbs) dropped. Lines are joined without a separator, as templates re-wrap them."""
    if not text:
        return ""
    if not simplified:
        text = to_simplified(text)
    kept = _KEEP_NL.sub("", _fold(text).lower())
    return "".join(p for p in kept.split("\n") if len(p) >= MIN_LINE)


def _mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: spreads the polynomial hash over all 64 bits (bins and mod sampling)."""
    x = x ^ (x >> _U64(30))
    x = x * _U64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> _U64(27))
    x = x * _U64(0x94D049BB133111EB)
    return x ^ (x >> _U64(31))


_POWERS = [_U64(pow(1_000_003, SHINGLE - 1 - k, 2**64)) for k in range(SHINGLE)]


def shingle_hashes(norm: str) -> np.ndarray:
    """Sorted unique 64-bit hashes of the character SHINGLE-grams of a normalised text."""
    if len(norm) < SHINGLE:
        return np.empty(0, dtype=_U64)
    cps = np.frombuffer(norm.encode("utf-32-le"), dtype=np.uint32).astype(_U64)
    m = len(cps) - SHINGLE + 1
    h = np.zeros(m, dtype=_U64)
    with np.errstate(over="ignore"):  # arithmetic mod 2**64 is the point
        for k in range(SHINGLE):
            h += cps[k:k + m] * _POWERS[k]
        h = _mix64(h)
    # sort + neighbour test: cheaper than np.unique for these sizes, and the sketch needs the order
    h.sort()
    return h[np.concatenate(([True], h[1:] != h[:-1]))]


_BIN_STARTS = (np.arange(OPH_BINS, dtype=_U64) << _MASK_BIN)


def oph_sketch(h: np.ndarray) -> np.ndarray:
    """One-permutation MinHash: the minimum hash in each of 64 ranges of the sorted shingle hashes.

    Empty bins (short texts) borrow the next non-empty bin's value, mixed with the bin number
    (densification), so two short texts do not collide just because both have empty bins.
    """
    starts = np.searchsorted(h, _BIN_STARTS)
    ends = np.append(starts[1:], len(h))
    filled = starts < ends
    out = np.empty(OPH_BINS, dtype=_U64)
    if not filled.any():
        return out
    out[filled] = h[starts[filled]]
    if not filled.all():
        full = np.flatnonzero(filled)
        empty = np.flatnonzero(~filled)
        nxt = full[np.searchsorted(full, empty) % len(full)]
        with np.errstate(over="ignore"):
            out[empty] = _mix64(out[nxt] ^ (empty.astype(_U64) + _U64(1)))
    return out


def fingerprints(h: np.ndarray) -> np.ndarray:
    """Content-defined sample of the shingles: identical wherever the text sits in a page."""
    return h[(h % _U64(SAMPLE_MOD)) == 0]


# ---------------------------------------------------------------- evidence beyond the text


def norm_title(title: str | None) -> str:
    return _KEEP.sub("", _fold(to_simplified(title or "")).lower())


def original_title(text: str | None) -> str | None:
    """The 原标题 a repost names, normalised. text: already Simplified."""
    m = _ORIG_TITLE.search((text or "")[:3000])
    return norm_title(m.group(1)) or None if m else None


def source_names(text: str | None, source_org: str | None) -> set[str]:
    """来源 the article states (column, or a 来源: line near its start or end), normalised.
    text: already Simplified."""
    names = {norm_title(source_org)} if source_org else set()
    t = text or ""
    for chunk in (t[:400], t[-400:]):
        names.update(norm_title(m.group(1)) for m in _SOURCE_LINE.finditer(chunk))
    return {n for n in names if len(n) >= 2}


@dataclass
class Doc:
    """What clustering keeps per article (texts are re-read only for verification)."""

    article_id: int
    url: str
    host: str
    source_id: str | None
    published: str | None
    first_fetched: str | None
    title: str  # normalised
    orig_title: str | None  # normalised 原标题
    sources: frozenset[str]  # normalised 来源 values
    publisher: str  # normalised name of the archive source (sources.name), for 来源 matching
    n_shingles: int
    government: bool


# ---------------------------------------------------------------- canonical choice


_GOV_NAME = re.compile(r"(人民政府|政府|委员会|办公室|办公厅|[^市]局$|管委会|党委|人大|政协)")


def is_government(host: str | None, source_id: str | None, source_name: str | None) -> bool:
    """Is this a government publisher? The one place that decides (canonical choice depends on it).

    - host under gov.cn (www.gov.cn, *.gov.cn) or another government second-level domain (.gov.hk,
      .gov.mo, .gov.tw); the Party/People's Congress sites use .gov.cn too;
    - a registry source whose id ends in '-gov' (the registry's convention, see sources.yml) or whose
      name is a government body (人民政府, 委员会, ...局, 管委会 ...).
    Content farms never get a gov.cn host, so the host test is the strong one.
    """
    host = (host or "").lower().split(":")[0]
    if host == "gov.cn" or host.endswith(".gov.cn") or re.search(r"\.gov\.(hk|mo|tw)$", host):
        return True
    if source_id and (source_id.endswith("-gov") or source_id.startswith("gov-")):
        return True
    return bool(source_name and _GOV_NAME.search(source_name))


def canonical_key(doc: Doc) -> tuple:
    """Sort key: the smallest is the canonical. Government first, then earliest published, then
    earliest first fetched, then lowest id (deterministic). Missing dates sort last."""
    return (not doc.government, doc.published or "9999", doc.first_fetched or "9999", doc.article_id)


# ---------------------------------------------------------------- verification


def pair_stats(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(containment of the smaller in the larger, Jaccard) of two sorted unique hash arrays."""
    if len(a) == 0 or len(b) == 0:
        return 0.0, 0.0
    # both sorted: look the smaller up in the larger (np.intersect1d sorts both again, ~3x slower)
    small, large = (a, b) if len(a) <= len(b) else (b, a)
    at = np.searchsorted(large, small)
    at[at == len(large)] = 0
    inter = int(np.count_nonzero(large[at] == small))
    return inter / min(len(a), len(b)), inter / (len(a) + len(b) - inter)


PAIRS_PER_PRODUCT = 4096  # pairs per sparse product in pair_stats_many: bounds its temporary rows


def pair_stats_many(shingles: dict[Any, np.ndarray], pairs: Sequence[tuple[Any, Any]]
                    ) -> tuple[np.ndarray, np.ndarray]:
    """pair_stats of many pairs at once: (containments, Jaccards), in the order of pairs.

    One sparse matrix (a row per text, a column per distinct shingle) and row-wise products, in C:
    ~0.2 s for 33,000 pairs of ~340 shingles where pair_stats one by one took ~0.33 s (a site whose
    articles share their stock phrases has tens of candidates per article, few of them copies)."""
    from scipy import sparse

    if not len(pairs):
        return np.empty(0), np.empty(0)
    keys = list(dict.fromkeys(k for pair in pairs for k in pair))
    row = {k: n for n, k in enumerate(keys)}
    arrays = [shingles[k] for k in keys]
    sizes = np.array([len(a) for a in arrays], dtype=np.int64)
    distinct, columns = np.unique(np.concatenate(arrays), return_inverse=True)
    indptr = np.concatenate([[0], np.cumsum(sizes)])
    matrix = sparse.csr_matrix((np.ones(len(columns), dtype=np.int32), columns, indptr),
                               shape=(len(keys), len(distinct)))
    a = np.array([row[x] for x, _ in pairs], dtype=np.int64)
    b = np.array([row[y] for _, y in pairs], dtype=np.int64)
    inter = np.empty(len(pairs), dtype=np.float64)
    for start in range(0, len(pairs), PAIRS_PER_PRODUCT):
        chunk = slice(start, start + PAIRS_PER_PRODUCT)
        inter[chunk] = np.asarray(matrix[a[chunk]].multiply(matrix[b[chunk]]).sum(axis=1)).ravel()
    smaller = np.minimum(sizes[a], sizes[b])
    union = sizes[a] + sizes[b] - inter
    empty = smaller == 0
    containment = np.divide(inter, smaller, out=np.zeros(len(pairs)), where=~empty)
    jaccard = np.divide(inter, union, out=np.zeros(len(pairs)), where=~empty)
    return containment, jaccard


def accepted_pairs(docs: dict[Any, Doc] | Sequence[Doc], shingles: dict[Any, np.ndarray],
                   pairs: Sequence[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    """The pairs accept_pair accepts (docs and shingles keyed like the pairs' members)."""
    containment, jaccard = pair_stats_many(shingles, pairs)
    return [pairs[k] for k in np.flatnonzero(containment >= LOWEST_ACCEPTED).tolist()
            if accept_pair(docs[pairs[k][0]], docs[pairs[k][1]], float(containment[k]), float(jaccard[k]))]


def _title_evidence(x: Doc, y: Doc) -> str | None:
    if len(x.title) >= 6 and x.title == y.title:
        return "title"
    if (x.orig_title and x.orig_title in (y.title, y.orig_title)) or (y.orig_title and y.orig_title == x.title):
        return "原标题"
    return None


def same_publisher(x: Doc, y: Doc) -> bool:
    """Both articles come from one publisher: the same registry source, or the same host."""
    return (x.source_id is not None and x.source_id == y.source_id) or (bool(x.host) and x.host == y.host)


def _source_evidence(x: Doc, y: Doc) -> bool:
    """One names the other's publisher as 来源, or both state the same 来源, across two publishers. Within
    one publisher a 来源 proves nothing: a site states its own office or newsroom under every article, so
    two of its bulletins written from the same phrases (containment 0.7-0.8) would read as copies, and
    every such pair joins their clusters (a column of 2,000 templated bulletins made one "repost family"
    of 268)."""
    if same_publisher(x, y):
        return False
    return bool((x.publisher and x.publisher in y.sources) or (y.publisher and y.publisher in x.sources)
                or (x.sources & y.sources))


def accept_pair(x: Doc, y: Doc, containment: float, jaccard: float) -> str | None:
    """Evidence string if x and y are the same article, else None.

    Measured on the corpus-built set (docs/lineage.md): distinct articles about the same kind of
    meeting reach containment ~0.74 through shared official phrasing; reposts, excerpts and
    Traditional copies sit at >= 0.95, single-sentence edits at 0.8-0.9 with similar length.
    """
    if min(x.n_shingles, y.n_shingles) < MIN_SHINGLES:
        ok = jaccard >= SHORT_JACCARD  # very short notices: only (near-)identical texts
        base = "text" if ok else None
    elif containment >= CONTAINED or (containment >= EDITED_CONTAINMENT and jaccard >= EDITED_JACCARD):
        base = "text"
    elif containment >= EVIDENCE_CONTAINMENT:
        # grey zone: shared wording alone is not enough; a matching headline or 原标题, or a 来源
        # naming the other's publisher, is, between two publishers. Within one, a headline proves no
        # more than a 来源: a site files its recurring templated report under the same headline every
        # month ("重点项目建设进展情况"), and the months' texts, written from one template, sit here.
        if same_publisher(x, y):
            return None
        ev = _title_evidence(x, y) or ("来源" if _source_evidence(x, y) else None)
        return f"text+{ev}" if ev else None
    else:
        return None
    if base is None:
        return None
    extras = [e for e in (_title_evidence(x, y), "来源" if _source_evidence(x, y) else None) if e]
    return "+".join([base, *extras])


# ---------------------------------------------------------------- candidates


def band_keys(sketches: np.ndarray) -> np.ndarray:
    """(n, LSH_BANDS) bucket keys: one hash of each band's LSH_ROWS sketch values."""
    keys = np.zeros((len(sketches), LSH_BANDS), dtype=_U64)
    with np.errstate(over="ignore"):
        for band in range(LSH_BANDS):
            cols = sketches[:, band * LSH_ROWS:(band + 1) * LSH_ROWS]
            key = np.zeros(len(sketches), dtype=_U64)
            for c in range(LSH_ROWS):
                key = _mix64(key ^ cols[:, c])
            keys[:, band] = key
    return keys


def lsh_candidates(sketches: np.ndarray) -> np.ndarray:
    """Pairs (i, j) sharing a band bucket; each bucket is a star around its first member."""
    n = len(sketches)
    pairs = []
    if n < 2:
        return np.empty((0, 2), dtype=np.int64)
    keys = band_keys(sketches)
    with np.errstate(over="ignore"):
        for band in range(LSH_BANDS):
            key = keys[:, band]
            _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
            head = first[inverse]
            mask = head != np.arange(n)
            if mask.any():
                pairs.append(np.stack([head[mask], np.flatnonzero(mask)], axis=1))
    if not pairs:
        return np.empty((0, 2), dtype=np.int64)
    return np.concatenate(pairs).astype(np.int64)


def rank_in_runs(sorted_values: np.ndarray) -> np.ndarray:
    """For each element of a sorted array, how many equal values come before it (0 for the first)."""
    starts = np.flatnonzero(np.concatenate(([True], sorted_values[1:] != sorted_values[:-1])))
    return np.arange(len(sorted_values)) - np.repeat(starts, np.diff(np.append(starts, len(sorted_values))))


def containment_candidates(fp_values: np.ndarray, fp_docs: np.ndarray, fp_counts: np.ndarray) -> np.ndarray:
    """Pairs sharing >= MIN_SHARED_FP fingerprints and >= FP_RATIO of the smaller's fingerprints."""
    from scipy import sparse

    n_docs = len(fp_counts)
    if len(fp_values) == 0 or n_docs < 2:
        return np.empty((0, 2), dtype=np.int64)
    order = np.lexsort((fp_docs, fp_values))
    vals, docs = fp_values[order], fp_docs[order]
    # one (fingerprint, doc) entry per pair: a text repeating a shingle counts once
    keep = np.ones(len(vals), dtype=bool)
    keep[1:] = (vals[1:] != vals[:-1]) | (docs[1:] != docs[:-1])
    vals, docs = vals[keep], docs[keep]
    # each fingerprint links its first DF_CAP documents only (docs are in article id order)
    first = rank_in_runs(vals) < DF_CAP
    vals, docs = vals[first], docs[first]
    uniq, group, df = np.unique(vals, return_inverse=True, return_counts=True)
    useful = df >= 2
    sel = useful[group]
    if not sel.any():
        return np.empty((0, 2), dtype=np.int64)
    col_ids = np.cumsum(useful) - 1
    cols = col_ids[group[sel]]
    rows = docs[sel]
    x = sparse.csr_matrix((np.ones(len(rows), dtype=np.int32), (rows, cols)),
                          shape=(n_docs, int(useful.sum())))
    shared = sparse.triu(x @ x.T, k=1).tocoo()
    i, j, s = shared.row, shared.col, shared.data
    smaller = np.minimum(fp_counts[i], fp_counts[j])
    ok = (s >= MIN_SHARED_FP) & (s >= FP_RATIO * smaller)
    return np.stack([i[ok], j[ok]], axis=1).astype(np.int64)


# ---------------------------------------------------------------- union-find


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, x: int) -> int:
        parent = self.parent
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


# ---------------------------------------------------------------- the whole archive

_ARTICLE_SQL = """select a.id, a.url, a.host, a.source_id, a.title, a.title_simplified, a.text, a.text_simplified,
       a.published, a.first_fetched, a.source_org, s.name as source_name
  from articles a left join sources s on s.id = a.source_id {where} order by a.id"""


def _text_of(row: dict) -> tuple[str, bool]:
    if row.get("text_simplified"):
        return row["text_simplified"], True
    return row.get("text") or "", False


def _shingles_of(row: dict) -> np.ndarray:
    text, simplified = _text_of(row)
    return shingle_hashes(normalise(text, simplified=simplified))


def _doc_of(row: dict, n_shingles: int) -> Doc:
    text, simplified = _text_of(row)
    if not simplified:
        text = to_simplified(text)
    return Doc(
        article_id=row["id"], url=row["url"], host=row.get("host") or "", source_id=row.get("source_id"),
        published=row.get("published"), first_fetched=row.get("first_fetched"),
        title=norm_title(row.get("title_simplified") or row.get("title")), orig_title=original_title(text),
        sources=frozenset(source_names(text, row.get("source_org"))),
        publisher=norm_title(row.get("source_name")), n_shingles=n_shingles,
        government=is_government(row.get("host"), row.get("source_id"), row.get("source_name")),
    )


def _iter_rows(db: sqlite_utils.Database, ids: Sequence[int] | None = None) -> Iterator[dict]:
    if ids is None:
        yield from db.query(_ARTICLE_SQL.format(where=""))
        return
    for k in range(0, len(ids), 500):
        chunk = list(ids[k:k + 500])
        marks = ",".join("?" * len(chunk))
        yield from db.query(_ARTICLE_SQL.format(where=f"where a.id in ({marks})"), chunk)


Member = tuple[int, float, float, str]  # (doc index, containment, jaccard, evidence) against the canonical


Sketched = tuple[list[Doc], np.ndarray, list[np.ndarray]]  # docs, OPH sketches, fingerprints per doc


def sketch_rows(rows: Iterable[dict], shingles: dict[int, np.ndarray] | None = None) -> Sketched:
    """First pass: per article, the small things kept in memory (texts are not kept).

    shingles: when given, receives each article's shingle hashes (the incremental update verifies
    its batch's pairs with them instead of shingling the texts again)."""
    docs: list[Doc] = []
    sketches: list[np.ndarray] = []
    fps: list[np.ndarray] = []
    for row in rows:
        h = _shingles_of(row)
        if len(h) == 0:  # no text to compare (image-only pages, empty extractions)
            continue
        if shingles is not None:
            shingles[row["id"]] = h
        docs.append(_doc_of(row, len(h)))
        sketches.append(oph_sketch(h))
        fps.append(fingerprints(h))
    return docs, (np.stack(sketches) if sketches else np.empty((0, OPH_BINS), dtype=_U64)), fps


def _sketch_part(db_path: str, part: int, parts: int) -> Sketched:
    """Worker: sketch the articles with id % parts == part, reading the archive itself (WAL readers)."""
    from pipelines.store.storage import open_db

    db = open_db(db_path, create=False)
    try:
        return sketch_rows(db.query(_ARTICLE_SQL.format(where="where a.id % ? = ?"), [parts, part]))
    finally:
        db.close()


def _merge(parts: list[Sketched]) -> Sketched:
    """Worker outputs in article id order, so the result does not depend on the number of workers."""
    docs = [d for p in parts for d in p[0]]
    sketches = np.concatenate([p[1] for p in parts])
    fps = [f for p in parts for f in p[2]]
    order = sorted(range(len(docs)), key=lambda i: docs[i].article_id)
    return [docs[i] for i in order], sketches[order], [fps[i] for i in order]


def find_clusters(rows: Iterable[dict] | None = None, reread: Any = None, *,
                  sketched: Sketched | None = None) -> tuple[list[Doc], list[list[Member]]]:
    """Cluster article rows (dicts with the articles columns + source_name).

    Returns the docs and, per cluster of >= 2, [(doc index, containment, jaccard, evidence)] with the
    canonical first. `reread(article_ids)` yields the rows again for verification (texts are not
    kept in memory between the passes); without it the rows are kept. `sketched` replaces the first
    pass when it was done elsewhere (worker processes).
    """
    kept_rows: dict[int, dict] | None = None
    if sketched is None:
        rows = list(rows or []) if reread is None else rows
        if reread is None:
            kept_rows = {r["id"]: r for r in rows}  # type: ignore[union-attr]
        sketched = sketch_rows(rows or [])
    docs, sketches, fps = sketched
    if len(docs) < 2:
        return docs, []

    fp_docs = np.concatenate([np.full(len(f), i, dtype=np.int64) for i, f in enumerate(fps)])
    cand = np.concatenate([
        lsh_candidates(sketches),
        containment_candidates(np.concatenate(fps), fp_docs, np.array([len(f) for f in fps])),
    ])
    del sketches, fps, fp_docs, sketched
    if len(cand) == 0:
        return docs, []
    cand = np.unique(np.sort(cand, axis=1), axis=0)

    # verification: exact shingle sets of the articles that have candidates
    involved = np.unique(cand)
    by_id = {docs[i].article_id: int(i) for i in involved}
    source = (kept_rows[a] for a in by_id) if kept_rows is not None else reread(sorted(by_id))
    shingles: dict[int, np.ndarray] = {by_id[r["id"]]: _shingles_of(r) for r in source if r["id"] in by_id}

    uf = _UnionFind(len(docs))
    for i, j in accepted_pairs(docs, shingles, [tuple(p) for p in cand.tolist()]):
        uf.union(i, j)

    groups: dict[int, list[int]] = {}
    for i in involved.tolist():
        groups.setdefault(uf.find(i), []).append(i)
    clusters = []
    for members in groups.values():
        if len(members) < 2:
            continue
        members.sort(key=lambda m: canonical_key(docs[m]))
        canon = members[0]
        out = [(canon, 1.0, 1.0, "canonical")]
        for m in members[1:]:
            c, jac = pair_stats(shingles[canon], shingles[m])
            # a member can join through another copy without matching the canonical directly
            out.append((m, c, jac, accept_pair(docs[canon], docs[m], c, jac) or "linked"))
        clusters.append(out)
    clusters.sort(key=lambda cl: docs[cl[0][0]].article_id)
    return docs, clusters


def _db_file(db: sqlite_utils.Database) -> str | None:
    for row in db.execute("pragma database_list").fetchall():
        if row[1] == "main":
            return row[2] or None  # '' for an in-memory database
    return None


PARALLEL_MIN = 20_000  # below this, starting worker processes costs more than it saves


def cluster_archive(db: sqlite_utils.Database, *, workers: int | None = None) -> dict[str, Any]:
    """Recompute the clusters of the whole archive (idempotent: same archive, same rows).

    workers: processes for the first pass (default: up to 2 CPUs for archives of PARALLEL_MIN
    articles or more); the result is the same whatever the number.
    """
    from pipelines.store.storage import utc_now

    ensure_lineage_schema(db)
    t0 = time.perf_counter()
    path = _db_file(db)
    if workers is None:
        n = db.execute("select count(*) from articles").fetchone()[0]
        workers = min(2, os.cpu_count() or 1) if n >= PARALLEL_MIN else 1
    reread = lambda ids: _iter_rows(db, ids)  # noqa: E731
    if workers > 1 and path:
        # spawn, not fork: the parent holds an open SQLite connection a forked child must not touch
        ctx = multiprocessing.get_context("spawn")
        with ctx.Pool(workers) as pool:
            parts = pool.starmap(_sketch_part, [(path, k, workers) for k in range(workers)])
        docs, clusters = find_clusters(reread=reread, sketched=_merge(parts))
    else:
        docs, clusters = find_clusters(_iter_rows(db), reread=reread)
    now = utc_now()
    cluster_rows, member_rows = [], []
    for cl in clusters:
        canon_id = docs[cl[0][0]].article_id
        cluster_rows.append({"id": canon_id, "canonical_article_id": canon_id, "size": len(cl), "updated_at": now})
        for rank, (m, c, jac, ev) in enumerate(cl):
            member_rows.append({"article_id": docs[m].article_id, "cluster_id": canon_id,
                                "is_canonical": int(rank == 0), "similarity": round(c, 4),
                                "jaccard": round(jac, 4), "evidence": ev})
    with db.conn:  # readers never see a half-written lineage
        db.execute("delete from article_clusters")
        db.execute("delete from clusters")
        if cluster_rows:
            db["clusters"].insert_all(cluster_rows, batch_size=1000)
            db["article_clusters"].insert_all(member_rows, batch_size=1000)
    return {"articles": len(docs), "clusters": len(cluster_rows), "clustered_articles": len(member_rows),
            "largest": max((r["size"] for r in cluster_rows), default=0),
            "seconds": round(time.perf_counter() - t0, 2)}


ALSO_PUBLISHED_SQL = """
select a.id as article_id, a.url, a.host, a.source_id, a.title, a.published, a.first_fetched,
       m.is_canonical, m.similarity, m.evidence
  from article_clusters me
  join article_clusters m on m.cluster_id = me.cluster_id and m.article_id != me.article_id
  join articles a on a.id = m.article_id
 where me.article_id = :article_id
 order by m.is_canonical desc, a.published is null, a.published, a.first_fetched, a.id
"""


def also_published_at(db: sqlite_utils.Database, article_id: int) -> list[dict]:
    """The other members of the article's cluster, canonical first: url, host, source_id, published,
    is_canonical (+ title, similarity, evidence). Empty when the article has no known copies."""
    if not db["article_clusters"].exists():
        return []
    return [dict(r) | {"is_canonical": bool(r["is_canonical"])}
            for r in db.query(ALSO_PUBLISHED_SQL, {"article_id": article_id})]
