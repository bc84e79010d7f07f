"""Facts benchmark: per-kind precision / recall against the synthetic corpora's planted facts, per template
(each template scored alone: the rules learn nothing, so a template the rules were not written against
scores like an unseen one), and the time extract_facts takes per article.

    .venv/bin/python bench/facts_bench.py ../shared/corpus/synthetic-dev [--extracted] [--errors KIND]

Matching (issue 15): investment on (amount, currency), official on name, place on name, count on
(value, unit), growth on value, event_date on date; multiset per page. Recall counts every page;
precision only pages whose body is generated (pages reusing a seed body, whose paragraphs occur in
shared/seeds/, carry a hand-picked subset of their facts).

Event dates are scored as `govbrief extract --manifest` and the archive give them: pages that are
copies of one text (repost lineage over the pages scored together) date their year-less "M月D日" by the
earliest copy's publication (pipelines/facts/reposts.py). Per template, only copies within that
template count (the others are not in the set); "page alone" shows every page dated by itself.

By default the text is the gold body (facts quality alone); --extracted runs the extractor on the raw
pages first (`extract_manifest`, as `govbrief extract --manifest` does) and scores the end-to-end result.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(1, str(Path(__file__).resolve().parent))

from pipelines.chinese import to_simplified  # noqa: E402
from pipelines.facts import extract_facts  # noqa: E402
from pipelines.facts.reposts import with_facts_of_copies  # noqa: E402

KINDS = ["investment", "official", "place", "count", "growth", "event_date"]


def fact_key(fact: dict) -> tuple:
    kind = fact["kind"]
    if kind == "investment":
        return kind, round(float(fact["amount"]), 2), fact["currency"]
    if kind in ("official", "place"):
        return kind, to_simplified(fact["name"])
    if kind == "count":
        return kind, fact["value"], to_simplified(fact["unit"])
    if kind == "growth":
        return kind, round(float(fact["value"]), 3)
    return kind, fact["date"]


def seed_paragraph_prefixes(seeds_dir: Path) -> str:
    files = sorted(p for p in seeds_dir.glob("*") if p.is_file())
    return "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in files)


def load_pages(corpus: Path, seeds_text: str) -> list[dict]:
    from lineage_bench import load_corpus  # bench/ is on sys.path when this script runs

    pages = []
    for row in load_corpus(corpus):
        gold = row["gold"]
        body = gold["body"][1:] if gold.get("title_in_body") else gold["body"]
        # a seed-body page: one of its paragraphs is cut from a seed page (in either script)
        seeded = any(len(p) > 30 and to_simplified(p)[:30] in seeds_text for p in body)
        pages.append({**row, "page": str(row["page"]), "text": "\n".join(body), "exhaustive": not seeded,
                      "template": gold.get("template") or "?"})
    return pages


def score(pages: list[dict], predictions: dict[str, list[dict]]) -> dict[str, dict]:
    tally = {k: Counter() for k in KINDS}
    errors = defaultdict(list)
    for page in pages:
        gold = Counter(fact_key(f) for f in page["gold"].get("facts", []))
        pred = Counter(fact_key(f) for f in predictions.get(page["id"], []))
        for kind in KINDS:
            g = Counter({k: v for k, v in gold.items() if k[0] == kind})
            p = Counter({k: v for k, v in pred.items() if k[0] == kind})
            hit = sum((g & p).values())
            tally[kind]["recall_hit"] += hit
            tally[kind]["gold"] += sum(g.values())
            for key in (g - p):
                errors[kind].append((page["id"], "missed", key))
            if page["exhaustive"]:
                tally[kind]["precision_hit"] += hit
                tally[kind]["predicted"] += sum(p.values())
                for key in (p - g):
                    errors[kind].append((page["id"], "spurious", key))
    result = {}
    for kind, t in tally.items():
        result[kind] = {
            "precision": t["precision_hit"] / t["predicted"] if t["predicted"] else None,
            "recall": t["recall_hit"] / t["gold"] if t["gold"] else None,
            "gold": t["gold"], "predicted_on_exhaustive": t["predicted"],
        }
    result["_errors"] = errors
    return result


def _fmt(x: float | None) -> str:
    return "–" if x is None else f"{x:.3f}"


def print_table(title: str, result: dict) -> None:
    print(f"\n{title}\n| kind | precision | recall | gold facts | predicted (exhaustive pages) |")
    print("|---|---|---|---|---|")
    for kind in KINDS:
        r = result[kind]
        print(f"| {kind} | {_fmt(r['precision'])} | {_fmt(r['recall'])} | {r['gold']} "
              f"| {r['predicted_on_exhaustive']} |")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--seeds", type=Path, help="seed pages (default: CORPUS/../../seeds)")
    ap.add_argument("--extracted", action="store_true", help="score facts of the extracted text, not the gold body")
    ap.add_argument("--errors", metavar="KIND", help="print the misses and spurious facts of one kind")
    ap.add_argument("--repeat", type=int, default=5, help="timing repetitions over the corpus")
    args = ap.parse_args(argv)

    seeds_dir = args.seeds or args.corpus.resolve().parent.parent / "seeds"
    pages = load_pages(args.corpus, to_simplified(seed_paragraph_prefixes(seeds_dir)))
    from pipelines.extract.article import extract_manifest

    # the page's own signals: with the gold body too, the date of its 上一篇 / 下一篇 links comes from the page
    rows = [{"id": p["id"], "page": p["page"], "url": p["url"], "content_type": p["content_type"]} for p in pages]
    outs = {out["id"]: out for out in extract_manifest(rows)}
    for page in pages:
        page["posted_near"] = outs.get(page["id"], {}).get("posted_near")
        if args.extracted:
            page["text"] = outs.get(page["id"], {}).get("text") or ""
            page["published"] = outs.get(page["id"], {}).get("published")

    t0 = time.perf_counter()
    extract_facts("2023年1月14日，市委书记王强出席。总投资1亿元。", "2023-01-15")  # rules, place table, OpenCC
    first_call_ms = (time.perf_counter() - t0) * 1000
    def published(page: dict) -> str | None:
        return page.get("published", page["gold"].get("published"))

    def dated_by_copies(subset: list[dict]) -> dict[str, list[dict]]:
        lines = [{"id": p["id"], "text": p["text"], "published": published(p), "title": p["gold"].get("title"),
                  "posted_near": p.get("posted_near")} for p in subset]
        return {line["id"]: line["facts"] for line in with_facts_of_copies(lines)}

    alone = {p["id"]: extract_facts(p["text"], published(p), None, posted_near=p.get("posted_near")) for p in pages}
    predictions = dated_by_copies(pages)
    per_article = []
    best: dict[str, float] = {}  # per page, the fastest pass: the cost without other processes' noise
    for _ in range(args.repeat):
        for page in pages:
            t = time.perf_counter()
            extract_facts(page["text"], published(page), None)
            per_article.append((time.perf_counter() - t) * 1000)
            best[page["id"]] = min(best.get(page["id"], 1e9), per_article[-1])
    chars = statistics.mean(len(p["text"]) for p in pages)

    overall = score(pages, predictions)
    source = "extracted text (extract_manifest on the raw pages)" if args.extracted else "gold body text"
    exhaustive = sum(p["exhaustive"] for p in pages)
    print(f"{args.corpus}: {len(pages)} pages ({exhaustive} with generated bodies: precision is scored on those), "
          f"facts of the {source}")
    print_table("All templates", overall)
    print_table("All templates, each page alone (no copies dating each other)", score(pages, alone))
    templates = sorted({p["template"] for p in pages})
    print("\nPer template (each scored alone)\n| template | " + " | ".join(f"{k} P/R" for k in KINDS) + " |")
    print("|---|" + "---|" * len(KINDS))
    for template in templates:
        subset = [p for p in pages if p["template"] == template]
        r = score(subset, dated_by_copies(subset))
        print(f"| {template} ({len(subset)}) | "
              + " | ".join(f"{_fmt(r[k]['precision'])}/{_fmt(r[k]['recall'])}" for k in KINDS) + " |")
    print(f"\nTiming: {statistics.mean(per_article):.3f} ms per article on average over all passes "
          f"(median {statistics.median(per_article):.3f}, max {max(per_article):.2f}); "
          f"{statistics.mean(best.values()):.3f} ms on average of each page's fastest pass "
          f"(max {max(best.values()):.2f}); mean text {chars:.0f} chars; {args.repeat} passes; "
          f"first call {first_call_ms:.0f} ms (loads rules, place table, OpenCC)")
    if args.errors:
        for page_id, what, key in overall["_errors"][args.errors]:
            print(what, page_id, key)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
