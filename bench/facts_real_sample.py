"""Hand-checked samples of facts from real pages (issue 15: investment >= 95 % correct).

    .venv/bin/python bench/facts_real_sample.py ../shared [--kind investment|event_date|official] [--draw]

Real text here: the real-dev and unlabeled-gov corpora (pages through the extractor, as the archive
sees them) and the five real seed pages (text). Those hold 80-odd investment statements in all; the
sample takes every investment fact of real-dev and unlabeled-gov (general news: the hardest case) and
fills up to 50 with seed facts spread evenly over the seeds' text.

--draw writes bench/facts_real_sample.jsonl with empty verdicts (a person then fills "verdict":
"correct" | "wrong" and "reason", reading the context). Without --draw the stored sample is checked:
each stored fact must still be extracted, and the share judged correct is reported.

--kind event_date / official: samples of 30 drawn evenly from real-dev and unlabeled-gov only (pages
the rules were not written from; no seed text), in facts_real_sample-<kind>.jsonl. An event date is
correct when the day is the one the text means and the year is right for the page (its gold
publication date and the text); an official when title and name are as written and the name is whole.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipelines.facts import extract_facts  # noqa: E402

SAMPLE = Path(__file__).with_name("facts_real_sample.jsonl")
SIZE = 50
OTHER_SIZE = 30  # event_date, official


def sample_path(kind: str) -> Path:
    return SAMPLE if kind == "investment" else SAMPLE.with_name(f"facts_real_sample-{kind}.jsonl")


def fact_key(kind: str, c: dict) -> tuple:
    if kind == "investment":
        return (c["source"], tuple(c["offsets"]), c["amount"], c["currency"])
    if kind == "event_date":
        return (c["source"], tuple(c["offsets"]), c["date"])
    return (c["source"], tuple(c["offsets"]), c["title"], c["name"])


def real_texts(shared: Path) -> list[tuple[str, str, str | None, str | None]]:
    from pipelines.extract.article import extract_manifest
    from pipelines.extract.manifest_cli import load_manifest

    texts = []
    for corpus in ("real-dev", "unlabeled-gov"):
        rows = load_manifest(shared / "corpus" / corpus / "manifest.jsonl")
        with contextlib.redirect_stderr(io.StringIO()):
            for out in extract_manifest(rows):
                texts.append((f"{corpus}:{out['id']}", out.get("text") or "", out.get("published"),
                              out.get("posted_near")))
    for path in sorted((shared / "seeds").glob("*.txt")):
        texts.append((f"seeds:{path.name}", path.read_text(encoding="utf-8"), None, None))
    return texts


def candidates(shared: Path, kind: str = "investment") -> list[dict]:
    out = []
    for source, text, published, posted_near in real_texts(shared):
        for fact in extract_facts(text, published, posted_near=posted_near):
            if fact["kind"] != kind:
                continue
            start, end = fact["offsets"]
            row = {"source": source, "text": fact.get("text") or fact.get("title", "") + fact.get("name", "")}
            if kind == "investment":
                row.update(amount=fact["amount"], currency=fact["currency"], qualifier=fact.get("qualifier"))
            elif kind == "event_date":
                row.update(date=fact["date"], published=published, year_from=fact.get("year_from"))
            else:
                row.update(title=fact["title"], name=fact["name"])
            row.update(offsets=fact["offsets"], context=text[max(0, start - 40):end + 30].replace("\n", " "))
            out.append(row)
    return out


def draw(found: list[dict]) -> list[dict]:
    general = [c for c in found if not c["source"].startswith("seeds:")]
    seeds = [c for c in found if c["source"].startswith("seeds:")]
    need = max(0, SIZE - len(general))
    step = len(seeds) / need if need else 1
    picked = general[:SIZE] + [seeds[int(i * step)] for i in range(min(need, len(seeds)))]
    return [{**c, "verdict": None, "reason": ""} for c in picked]


def draw_real(found: list[dict]) -> list[dict]:
    """OTHER_SIZE facts spread evenly over the real-dev and unlabeled-gov ones (no seed text)."""
    real = [c for c in found if not c["source"].startswith("seeds:")]
    step = max(1.0, len(real) / OTHER_SIZE)
    return [{**real[int(i * step)], "verdict": None, "reason": ""} for i in range(min(OTHER_SIZE, len(real)))]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("shared", type=Path, help="the shared directory (corpus/ and seeds/)")
    ap.add_argument("--kind", default="investment", choices=("investment", "event_date", "official"))
    ap.add_argument("--draw", action="store_true", help="write a new sample with empty verdicts")
    args = ap.parse_args(argv)
    found = candidates(args.shared, args.kind)
    path = sample_path(args.kind)
    print(f"{len(found)} {args.kind} facts in the real texts")
    if args.draw:
        picked = draw(found) if args.kind == "investment" else draw_real(found)
        path.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in picked), encoding="utf-8")
        print(f"wrote {path}")
        return 0
    sample = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    current = {fact_key(args.kind, c) for c in found}
    gone = [s for s in sample if fact_key(args.kind, s) not in current]
    judged = [s for s in sample if s.get("verdict") in ("correct", "wrong")]  # "unsure" is left out
    correct = sum(s["verdict"] == "correct" for s in judged)
    print(f"sample: {len(sample)} facts, {len(judged)} judged, {correct} correct "
          f"({correct / len(judged):.1%}); no longer extracted: {len(gone)}")
    for s in sample:
        if s.get("verdict") == "wrong":
            print(f"  wrong: {s['source']} {s['text']} — {s['reason']}")
    for s in gone:
        print(f"  no longer extracted: {s['source']} {s['text']} ({s.get('verdict')})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
