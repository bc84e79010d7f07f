#!/usr/bin/env python3
"""Per-page loss analysis of govbrief's extractor against the baselines, with the shared scorer's metric.

    .venv/bin/python bench/extract_analysis.py                         # real-dev, top 25 pages
    .venv/bin/python bench/extract_analysis.py --corpus ../shared/corpus/synthetic-dev --top 10
    .venv/bin/python bench/extract_analysis.py --show wce-0123          # one page: lost / extra lines
    .venv/bin/python bench/extract_analysis.py --loto                   # leave-one-template-out leak

For every page: govbrief's false positives (shingles we output that are not gold: chrome kept) and
false negatives (gold shingles we miss: article cut), the same for the best baseline on that page,
and the lines responsible. The baselines' outputs are cached in /tmp (they do not change).

`--loto` (synthetic corpora with templates), leave-one-template-out, two ways:
  * LOTO: every template scored by the rules as shipped. Since extractor v4 nothing in the extraction
    is built from a template: no per-site learning, and rules/spam.yml holds structure families
    whose phrases are the common labels of their structure (reviewed; each family has its own
    fixture page in tests/). So the rules never reference the left-out template.
  * strict LOTO: in addition, every rule of rules/spam.yml that fires on this template's pages but
    on no other template's pages and on no real page (--evidence, default real-dev: 324 pages of
    68 hosts) is switched off, as if it had been written from the left-out template alone.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import sys
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
sys.path.insert(0, str(REPO))

SCORER_PATH = SHARED / "tools" / "score_extract.py"


class _LazyScorer:
    """../shared/tools/score_extract.py, loaded on first use: the harness functions (loto_table) are
    importable and testable without the shared corpora."""

    _module = None

    def __getattr__(self, name: str):
        if _LazyScorer._module is None:
            spec = importlib.util.spec_from_file_location("score_extract", SCORER_PATH)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            _LazyScorer._module = module
        return getattr(_LazyScorer._module, name)


scorer = _LazyScorer()

BASELINES = ["trafilatura", "readability"]


def govbrief_outputs(rows: list[dict]) -> dict[str, dict]:
    """govbrief's article per page (each page on its own, as the crawl extracts it)."""
    from pipelines.extract import article as ex

    out = {}
    for row in rows:
        art = ex.extract_article(Path(row["page_abs"]).read_bytes(), row.get("url") or "", row.get("content_type"))
        out[row["id"]] = art.as_dict() if art else {}
    return out


def baseline_outputs(name: str, corpus: Path, rows: list[dict]) -> dict[str, dict]:
    key = hashlib.sha1(f"{corpus.resolve()}|{name}|{len(rows)}".encode()).hexdigest()[:12]
    cache = Path("/tmp") / f"govbrief-analysis-{key}.json"
    if cache.exists():
        return json.loads(cache.read_text("utf-8"))
    out = scorer.run_builtin(name, rows)
    cache.write_text(json.dumps(out, ensure_ascii=False), "utf-8")
    return out


def page_counts(row: dict, out: dict) -> tuple[int, int, int]:
    g = row["gold_obj"]
    gold = "\n".join(g.get("body") or [])
    pred = out.get("text") or ""
    if g.get("title_in_body"):
        pred = (out.get("title") or "") + "\n" + pred
    gs, ps = scorer.shingles(gold), scorer.shingles(pred)
    tp = sum((gs & ps).values())
    return tp, sum(ps.values()) - tp, sum(gs.values()) - tp


def line_diff(row: dict, out: dict) -> tuple[list[str], list[str]]:
    """(gold lines mostly missing from our output, output lines mostly not in gold)."""
    g = row["gold_obj"]
    gold_lines = list(g.get("body") or [])
    pred_lines = (out.get("text") or "").splitlines()
    if g.get("title_in_body"):
        pred_lines = [out.get("title") or "", *pred_lines]
    gs_all = scorer.shingles("\n".join(gold_lines))
    ps_all = scorer.shingles("\n".join(pred_lines))

    def missing(lines, other):
        res = []
        for line in lines:
            s = scorer.shingles(line)
            n = sum(s.values())
            if n and sum((s & other).values()) < 0.5 * n:
                res.append(line)
        return res

    return missing(gold_lines, ps_all), missing(pred_lines, gs_all)


def analyse(corpus: Path, top: int) -> None:
    rows = scorer.load_corpus(corpus)
    ours = govbrief_outputs(rows)
    bases = {b: baseline_outputs(b, corpus, rows) for b in BASELINES}
    table = []
    tot = [0, 0, 0]
    for r in rows:
        if not (r["gold_obj"].get("body")):
            continue
        tp, fp, fn = page_counts(r, ours.get(r["id"], {}))
        tot = [tot[0] + tp, tot[1] + fp, tot[2] + fn]
        best = min(((b, page_counts(r, bases[b].get(r["id"]) or {})) for b in BASELINES),
                   key=lambda x: x[1][1] + x[1][2])
        table.append((fp + fn, r["id"], tp, fp, fn, best, ours.get(r["id"], {}).get("text_source")))
    table.sort(reverse=True)
    print(f"{corpus.name}: TP {tot[0]} FP {tot[1]} FN {tot[2]}")
    print(f"{'id':40} {'TP':>6} {'FP':>6} {'FN':>6}   best baseline (FP/FN)   source")
    for loss, pid, tp, fp, fn, (bname, (_btp, bfp, bfn)), src in table[:top]:
        mark = " <" if bfp + bfn < loss else ""
        print(f"{pid:40} {tp:6} {fp:6} {fn:6}   {bname:12} {bfp:5}/{bfn:<5}{mark}  {src}")


def show(corpus: Path, page_id: str) -> None:
    rows = [r for r in scorer.load_corpus(corpus) if r["id"] == page_id]
    if not rows:
        raise SystemExit(f"no page {page_id}")
    # boilerplate of the host needs its neighbours: run the whole host
    all_rows = scorer.load_corpus(corpus)
    from pipelines.extract.article import host_of
    host = host_of(rows[0].get("url"))
    ours = govbrief_outputs([r for r in all_rows if host_of(r.get("url")) == host])
    out = ours.get(page_id, {})
    tp, fp, fn = page_counts(rows[0], out)
    print(f"{page_id}: TP {tp} FP {fp} FN {fn} title={out.get('title')!r} source={out.get('text_source')}"
          f" title_in_body={rows[0]['gold_obj'].get('title_in_body')} gold title={rows[0]['gold_obj'].get('title')!r}")
    lost, extra = line_diff(rows[0], out)
    print("--- gold lines we miss:")
    for line in lost:
        print("  -", line[:160])
    print("--- our lines not in gold:")
    for line in extra:
        print("  +", line[:160])


def _fired_in(outputs: dict[str, dict]) -> set[str]:
    """Ids of the spam rules and detectors that removed something, read from each article's
    extraction provenance."""
    fired: set[str] = set()
    for out in outputs.values():
        removed = (out.get("provenance") or {}).get("removed_by_rule") or {}
        fired.update(r.removeprefix("after-") for r in removed)
    return fired


def rules_fired(rows: list[dict]) -> set[str]:
    """Ids of the spam rules and detectors that removed something on these pages."""
    return _fired_in(govbrief_outputs(rows))


def without_rules(rows: list[dict], disabled: set[str]) -> dict[str, dict]:
    """govbrief with these rules of rules/spam.yml switched off."""
    from pipelines.extract import clean_rules

    with clean_rules.rules_switched_off(disabled):
        return govbrief_outputs(rows)


def loto_table(rows: list[dict], score, evidence: list[dict] | None = None) -> list[dict]:
    """Leave-one-template-out figures per template T (see the module docstring): `leak`, `f1`,
    `title`, `date` with the rules as shipped, and `strict_*` with the rules that fire on T's pages
    but neither on another template's pages nor on the evidence pages switched off.

    `rows`: corpus rows (id, page_abs, url, content_type, gold_obj with template); `score(rows,
    outputs)`: the shared scorer's score function (or any function with its signature)."""
    from pipelines.extract.clean_rules import load_rules

    rule_ids = {r.id for r in load_rules()}
    by_tpl: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_tpl[r["gold_obj"].get("template") or "?"].append(r)
    fired = {tpl: rules_fired(trows) & rule_ids for tpl, trows in by_tpl.items()}
    outside = rules_fired(evidence) & rule_ids if evidence else set()
    table = []
    for tpl, trows in sorted(by_tpl.items()):
        shipped = score(trows, govbrief_outputs(trows))
        others = set().union(*(f for t, f in fired.items() if t != tpl)) | outside
        only = fired[tpl] - others
        while True:
            # a rule shadowed by an earlier one fires only once that one is off: repeat until no
            # template-only rule is left on
            outputs = without_rules(trows, only)
            newly = _fired_in(outputs) & rule_ids - others - only
            if not newly:
                break
            only |= newly
        strict = score(trows, outputs)
        table.append({"template": tpl, "pages": len(trows),
                      "leak": shipped.get("spam_leak", 0), "f1": shipped["f1"],
                      "title": shipped.get("title_acc"), "date": shipped.get("date_acc"),
                      "strict_leak": strict.get("spam_leak", 0), "strict_f1": strict["f1"],
                      "strict_title": strict.get("title_acc"), "strict_date": strict.get("date_acc"),
                      "switched_off": sorted(only), "strict_outputs": outputs})
    return table


def leaked_lines(rows: list[dict], outputs: dict[str, dict]) -> list[str]:
    """Gold spam lines found in the outputs (what a template leaks)."""
    leaked = []
    for r in rows:
        text = scorer.norm((outputs.get(r["id"]) or {}).get("text") or "")
        for s in r["gold_obj"].get("spam") or []:
            if len(s) >= 4 and scorer.norm(s) in text:
                leaked.append(s)
    return leaked


def loto(corpus: Path, *, evidence: Path | None = None, quiet: bool = False, show_leaks: bool = False) -> list[dict]:
    rows = scorer.load_corpus(corpus)
    ev_rows = scorer.load_corpus(evidence) if evidence else None
    table = loto_table(rows, scorer.score, ev_rows)
    if not quiet:
        print(f"{'template':18} {'pages':>5} {'leak':>6} {'F1':>6} {'title':>6} {'date':>6} | {'strict leak':>11} "
              f"{'F1':>6} {'title':>6} {'date':>6}  rules switched off (fire on this template only)")
        for t in table:
            print(f"{t['template']:18} {t['pages']:5} {t['leak']:6.2%} {t['f1']:6.3f} {t['title'] or 0:6.3f} "
                  f"{t['date'] or 0:6.3f} | {t['strict_leak']:11.2%} {t['strict_f1']:6.3f} "
                  f"{t['strict_title'] or 0:6.3f} {t['strict_date'] or 0:6.3f}  {', '.join(t['switched_off']) or '-'}")
            if show_leaks:
                trows = [r for r in rows if (r["gold_obj"].get("template") or "?") == t["template"]]
                for line in sorted(set(leaked_lines(trows, t["strict_outputs"])))[:40]:
                    print("     strict leak:", line[:100])
    return table


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=SHARED / "corpus" / "real-dev")
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--show", help="one page id: the lines we lose and the lines we add")
    ap.add_argument("--loto", action="store_true", help="leave-one-template-out figures per template")
    ap.add_argument("--evidence", type=Path, default=SHARED / "corpus" / "real-dev",
                    help="--loto: real pages on which a rule firing counts as evidence it is generic")
    ap.add_argument("--leaks", action="store_true", help="--loto: list the leaked spam lines")
    a = ap.parse_args(argv)
    if a.show:
        show(a.corpus, a.show)
    elif a.loto:
        loto(a.corpus, evidence=a.evidence, show_leaks=a.leaks)
    else:
        analyse(a.corpus, a.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
