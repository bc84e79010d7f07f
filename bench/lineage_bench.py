"""Repost-lineage benchmark: pairwise precision/recall on a repost set built from the shared corpus,
and the time to cluster a synthetic 100,000-article archive.

    .venv/bin/python bench/lineage_bench.py                      # both parts, defaults
    .venv/bin/python bench/lineage_bench.py --scale 0            # quality only
    .venv/bin/python bench/lineage_bench.py --corpus PATH --seeds PATH --scale 20000 --json out.json

Truth for the corpus set (nothing is keyed to page ids; everything is derived from gold files):
  * a gold body cut from one of the seed texts (shared/seeds/*.txt) is identified by the seed and
    the span of seed lines its paragraphs come from; two bodies are the same article when they come
    from the same seed and their spans overlap (a seed file may hold several speeches: cuts from
    different ones are different articles);
  * any other gold body is its own article (bodies that are identical after t2s are the same);
  * generated bodies share their topic, structure, officials' phrasing and sentence templates:
    they are the "different articles on the same topic" the clustering must keep apart.
Sets measured:
  gold       the corpus pages with their gold text (perfect extraction);
  extracted  the same pages through pipelines.extract.article (what the archive really stores: spam left in);
  augmented  gold + derived copies of a deterministic sample of pages: Traditional-character copies,
             copies wrapped in spam lines taken from other pages' gold `spam`, copies with one sentence
             replaced and a figure changed, and excerpts (first 60% of paragraphs).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from itertools import combinations
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pipelines.chinese import _s2t, to_simplified  # noqa: E402
from pipelines.lineage import clusters as lineage  # noqa: E402
from pipelines.store import migrations, storage  # noqa: E402

DEFAULT_CORPUS = Path("/work/shared/corpus/synthetic-dev")
_WS = re.compile(r"\s+")
_SENT = re.compile(r"(?<=[。！？；])")
FARM_HOSTS = ["www.cyyqzs.com", "www.wmbxz.com", "www.sohu.com", "www.szlwpq.com", "www.rulaiwenku.com",
              "www.caizhiwk.com", "www.hzrlzy.com", "www.bigan-fw.com"]


# ---------------------------------------------------------------- corpus -> articles + truth


def _squash(s: str) -> str:
    return _WS.sub("", to_simplified(s))


def load_corpus(corpus: Path) -> list[dict]:
    pages = []
    for line in (corpus / "manifest.jsonl").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        m = json.loads(line)
        gold = json.loads((corpus / m["gold"]).read_text(encoding="utf-8"))
        pages.append({"id": m["id"], "url": m["url"], "page": corpus / m["page"],
                      "content_type": m.get("content_type"), "gold": gold})
    return pages


def truth_keys(pages: list[dict], seeds_dir: Path | None) -> dict[str, str]:
    """page id -> truth article id (see module docstring)."""
    seeds: dict[str, list[str]] = {}
    if seeds_dir and seeds_dir.is_dir():
        for p in sorted(seeds_dir.glob("*.txt")):
            seeds[p.name] = [_squash(x) for x in p.read_text(encoding="utf-8").splitlines()]
    spans: dict[str, tuple[str, int, int]] = {}
    plain: dict[str, str] = {}
    for page in pages:
        paras = [_squash(p) for p in page["gold"]["body"]]
        best: tuple[int, str, int, int] | None = None
        for name, lines in seeds.items():
            idx = [i for i, ln in enumerate(lines) for p in paras if len(p) >= 10 and p in ln]
            if idx and (best is None or len(idx) > best[0]):
                best = (len(idx), name, min(idx), max(idx))
        if best:
            spans[page["id"]] = best[1:]
        else:
            plain[page["id"]] = "".join(paras)
    # union overlapping spans of the same seed
    parent = {pid: pid for pid in spans}

    def find(x: str) -> str:
        while parent[x] != x:
            x = parent[x]
        return x

    for a, b in combinations(sorted(spans), 2):
        (sa, a0, a1), (sb, b0, b1) = spans[a], spans[b]
        if sa == sb and a0 <= b1 and b0 <= a1:
            parent[find(b)] = find(a)
    keys = {pid: "seed:" + find(pid) for pid in spans}
    by_body: dict[str, str] = {}
    for pid, body in plain.items():
        keys[pid] = "body:" + by_body.setdefault(body, pid)
    return keys


def gold_article(page: dict) -> dict:
    g = page["gold"]
    body = list(g["body"])
    if g.get("title_in_body") and body:
        body = body[1:]
    return {"url": page["url"], "title": g.get("title"), "text": "\n".join(body), "published": g.get("published"),
            "source_org": g.get("source_org"), "template": g.get("template")}


def extracted_article(page: dict) -> dict | None:
    from pipelines.extract.article import extract_article

    art = extract_article(page["page"].read_bytes(), page["url"], page["content_type"])
    if art is None:
        return None
    return {"url": page["url"], "title": art.title, "text": art.text, "published": art.published,
            "source_org": art.source_org, "template": page["gold"].get("template")}


def augment(pages: list[dict], keys: dict[str, str], rng: random.Random, share: float = 0.35) -> list[tuple[dict, str]]:
    """Derived copies (article, truth key) of a deterministic sample of the corpus pages."""
    spam_pool = [s for p in pages for s in p["gold"].get("spam", []) if len(s) >= 4]
    sentences = [s for p in pages for para in p["gold"]["body"] for s in _SENT.split(para) if len(s) >= 15]
    out = []
    for n, page in enumerate(pages):
        if rng.random() >= share:
            continue
        base = gold_article(page)
        paras = [p for p in base["text"].split("\n") if p.strip()]
        key = keys[page["id"]]
        host = rng.choice(FARM_HOSTS)

        def copy(text: str, kind: str, title: str | None = None, base: dict = base, host: str = host,
                 n: int = n, key: str = key) -> tuple[dict, str]:
            return ({"url": f"https://{host}/{kind}/{n}.html", "title": title or base["title"], "text": text,
                     "published": base["published"], "source_org": None, "template": kind}, key)

        kinds = rng.sample(["trad", "spam", "edit", "excerpt"], k=rng.randint(1, 3))
        for kind in kinds:
            if kind == "trad":
                out.append(copy(_s2t().convert(base["text"]), kind, _s2t().convert(base["title"] or "")))
            elif kind == "spam":
                top = rng.sample(spam_pool, k=min(len(spam_pool), rng.randint(2, 5)))
                bottom = rng.sample(spam_pool, k=min(len(spam_pool), rng.randint(3, 8)))
                out.append(copy("\n".join([*top, *paras, *bottom]), kind, (base["title"] or "") + "_招商网"))
            elif kind == "edit":
                sents = [s for p in paras for s in _SENT.split(p) if s]
                if len(sents) < 6:  # one changed sentence is not a *light* edit of a three-line notice
                    continue
                i = rng.randrange(len(sents))
                sents[i] = rng.choice(sentences)
                text = "".join(sents)
                text = re.sub(r"\d", lambda m: str((int(m.group()) + 1) % 10), text, count=1)
                out.append(copy(text, kind))
            elif kind == "excerpt" and len(paras) >= 5:
                out.append(copy("\n".join(paras[: max(3, int(len(paras) * 0.6))]), kind))
    return out


# ---------------------------------------------------------------- archive + scoring


def build_archive(path: Path, articles: Iterable[tuple[dict, str]]) -> dict[int, str]:
    """A real archive (storage schema) holding the articles; returns article id -> truth key."""
    db = storage.open_db(path)
    migrations.ensure_schema(db)
    lineage.ensure_lineage_schema(db)
    truth: dict[int, str] = {}
    seen: set[str] = set()
    for i, (art, key) in enumerate(articles):
        url = art["url"]
        if url in seen:  # the corpus may hold one URL twice; the archive keys articles by URL
            url = f"{url}#dup{i}"
        seen.add(url)
        text = art["text"] or ""
        row = storage.article_row(
            {**art, "url": url, "title_simplified": to_simplified(art["title"] or ""),
             "text_simplified": to_simplified(text)},
            source_id=urlsplit(url).netloc, region=None, capture_id=None, fetched_at=f"2024-06-01T00:00:{i % 60:02d}Z")
        article_id, _ = storage.upsert_article(db, row)
        truth[article_id] = key
    db.close()
    return truth


def pairwise(pred: dict[int, int], truth: dict[int, str]) -> dict[str, float]:
    """Pairwise precision / recall / F1 of a clustering (article -> cluster; singletons absent)."""
    def pairs(groups: dict) -> set[tuple[int, int]]:
        out = set()
        for members in groups.values():
            out.update(combinations(sorted(members), 2))
        return out

    pg: dict[int, list[int]] = defaultdict(list)
    for a, c in pred.items():
        pg[c].append(a)
    tg: dict[str, list[int]] = defaultdict(list)
    for a, k in truth.items():
        tg[k].append(a)
    p, t = pairs(pg), pairs(tg)
    tp = len(p & t)
    prec = tp / len(p) if p else 1.0
    rec = tp / len(t) if t else 1.0
    return {"precision": round(prec, 4), "recall": round(rec, 4),
            "f1": round(2 * prec * rec / (prec + rec), 4) if prec + rec else 0.0,
            "pred_pairs": len(p), "true_pairs": len(t), "tp": tp, "fp_pairs": sorted(p - t)[:10],
            "fn_pairs": sorted(t - p)[:10]}


def margins(articles: list[tuple[dict, str]]) -> dict:
    """How far the decision is from the thresholds: the weakest true pair and the closest false pair
    (containment of the shorter text in the longer, and Jaccard), over all pairs of the set."""
    sh = [lineage.shingle_hashes(lineage.normalise(a["text"])) for a, _ in articles]
    weakest, closest = (2.0, 0.0, "", ""), (-1.0, 0.0, "", "")
    for i, j in combinations(range(len(articles)), 2):
        if len(sh[i]) == 0 or len(sh[j]) == 0:
            continue
        c, jac = lineage.pair_stats(sh[i], sh[j])
        same = articles[i][1] == articles[j][1]
        if same and c < weakest[0]:
            weakest = (c, jac, articles[i][0]["url"], articles[j][0]["url"])
        elif not same and c > closest[0]:
            closest = (c, jac, articles[i][0]["url"], articles[j][0]["url"])
    return {"weakest_true_pair": weakest, "closest_false_pair": closest}


def run_set(name: str, articles: list[tuple[dict, str]], workdir: Path) -> dict:
    truth = build_archive(workdir / f"{name}.db", articles)
    db = storage.open_db(workdir / f"{name}.db")
    stats = lineage.cluster_archive(db)
    pred = {r["article_id"]: r["cluster_id"] for r in db.query("select article_id, cluster_id from article_clusters")}
    score = pairwise(pred, truth)
    urls = {r["id"]: r["url"] for r in db.query("select id, url from articles")}
    score["fp_pairs"] = [(urls[a], urls[b]) for a, b in score["fp_pairs"]]
    score["fn_pairs"] = [(urls[a], urls[b]) for a, b in score["fn_pairs"]]
    db.close()
    return {"set": name, "articles": len(truth), "true_groups": len(set(truth.values())), **stats, **score,
            **margins(articles)}


# ---------------------------------------------------------------- scale


def synth_archive(path: Path, n: int, pages: list[dict], rng: random.Random,
                  repost_share: float = 0.05) -> tuple[float, dict[int, str]]:
    """n synthetic articles: corpus sentences, each with names/figures changed, 8-40 sentences
    (about 400-2,500 characters, like the archive); repost_share of them are derived copies
    (exact, spam-wrapped, Traditional, edited). Returns (seconds spent building, id -> truth key)."""
    t0 = time.perf_counter()
    sentences = sorted({s for p in pages for para in p["gold"]["body"] for s in _SENT.split(_WS.sub("", para))
                        if len(s) >= 12})
    chars = [c for c in "".join(sentences) if "\u4e00" <= c <= "\u9fff"]
    spam_pool = [s for p in pages for s in p["gold"].get("spam", []) if len(s) >= 4]

    def mutate(s: str) -> str:
        s = re.sub(r"\d", lambda _: str(rng.randrange(10)), s)
        for _ in range(rng.randint(1, 3)):  # a person's or a place's name differs
            i = rng.randrange(len(s))
            s = s[:i] + rng.choice(chars) + rng.choice(chars) + s[i + 2:]
        return s

    db = storage.open_db(path)
    db["sources"].create({"id": str, "name": str}, pk="id", if_not_exists=True)
    rows: list[dict] = []
    originals: list[str] = []
    truth: dict[int, str] = {}
    for i in range(n):
        if originals and rng.random() < repost_share:
            k = rng.randrange(len(originals))
            base = originals[k]
            truth[i + 1] = f"o{k}"
            kind = rng.choice(["exact", "spam", "trad", "edit"])
            if kind == "spam":
                text = "\n".join([*rng.sample(spam_pool, 3), base, *rng.sample(spam_pool, 5)])
            elif kind == "trad":
                text = _s2t().convert(base)
            elif kind == "edit":
                parts = base.split("。")
                parts[rng.randrange(len(parts))] = mutate(rng.choice(sentences))
                text = "。".join(parts)
            else:
                text = base
            host = rng.choice(FARM_HOSTS)
        else:
            text = "\n".join(mutate(rng.choice(sentences)) for _ in range(rng.randint(8, 40)))
            truth[i + 1] = f"o{len(originals)}"
            originals.append(text)
            host = f"www.city{rng.randrange(300)}.gov.cn"
        rows.append({"id": i + 1, "url": f"https://{host}/a/{i}.html", "host": host, "source_id": host,
                     "title": text[:20], "title_simplified": to_simplified(text[:20]), "text": text,
                     "text_simplified": to_simplified(text), "published": f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}",
                     "first_fetched": "2024-06-01T00:00:00Z", "source_org": None})
        if len(rows) == 5000:
            db["articles"].insert_all(rows, pk="id")
            rows = []
    if rows:
        db["articles"].insert_all(rows, pk="id")
    db.close()
    return time.perf_counter() - t0, truth


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--seeds", type=Path, default=None, help="seed texts (default: <corpus>/../../seeds)")
    ap.add_argument("--scale", type=int, default=100_000, help="articles in the timing run (0: skip)")
    ap.add_argument("--no-extract", action="store_true", help="skip the set that runs the extractor")
    ap.add_argument("--seed", type=int, default=20250101)
    ap.add_argument("--workers", type=int, default=None, help="cluster_archive workers (default: auto)")
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = ap.parse_args(argv)
    seeds = args.seeds or args.corpus.parent.parent / "seeds"

    pages = load_corpus(args.corpus)
    keys = truth_keys(pages, seeds)
    sizes = Counter(Counter(keys.values()).values())
    print(f"corpus: {len(pages)} pages, {len(set(keys.values()))} distinct articles, group sizes {dict(sizes)}")
    results: dict = {"corpus": str(args.corpus), "sets": []}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        gold = [(gold_article(p), keys[p["id"]]) for p in pages]
        sets = {"gold": gold, "augmented": gold + augment(pages, keys, random.Random(args.seed))}
        if not args.no_extract:
            t0 = time.perf_counter()
            extracted = [(a, keys[p["id"]]) for p in pages if (a := extracted_article(p))]
            print(f"extracted {len(extracted)} pages in {time.perf_counter() - t0:.1f}s")
            sets["extracted"] = extracted
        for name, arts in sets.items():
            r = run_set(name, arts, work)
            results["sets"].append(r)
            print(f"{name:10s} articles={r['articles']:5d} true_pairs={r['true_pairs']:5d} "
                  f"pred_pairs={r['pred_pairs']:5d} P={r['precision']:.4f} R={r['recall']:.4f} F1={r['f1']:.4f}")
            for label in ("weakest_true_pair", "closest_false_pair"):
                c, jac, a, b = r[label]
                print(f"    {label}: containment={c:.3f} jaccard={jac:.3f}  {a}  {b}")
            for a, b in r["fp_pairs"][:5]:
                print(f"    FP {a}  {b}")
            for a, b in r["fn_pairs"][:5]:
                print(f"    FN {a}  {b}")
        if args.scale:
            path = work / "scale.db"
            build, truth = synth_archive(path, args.scale, pages, random.Random(args.seed))
            db = storage.open_db(path)
            t0 = time.perf_counter()
            stats = lineage.cluster_archive(db, workers=args.workers)
            wall = time.perf_counter() - t0
            avg = next(db.query("select avg(length(text)) as n from articles"))["n"]
            pred = {r["article_id"]: r["cluster_id"] for r in db.query("select * from article_clusters")}
            db.close()
            score = pairwise(pred, truth)
            scale = {"articles": args.scale, "avg_chars": round(avg), "build_seconds": round(build, 1),
                     "cluster_seconds": round(wall, 1), "workers": args.workers, **stats,
                     "precision": score["precision"], "recall": score["recall"], "true_pairs": score["true_pairs"]}
            results["scale"] = scale
            print(f"scale: {args.scale} articles (avg {avg:.0f} chars) clustered in {wall:.1f}s "
                  f"(workers={args.workers or 'auto'}): {stats}; P={score['precision']} R={score['recall']} "
                  f"over {score['true_pairs']} true pairs")
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
