"""Memory of `govbrief reextract` over time: flat (bounded by the captures in flight), whatever the size.

    .venv/bin/python bench/throughput_bench.py --articles 50000 --per-page 50 --skip-bare --skip-extract \
        --workdir /tmp/b50k                              # builds a 50,000-article archive
    .venv/bin/python bench/reextract_memory.py /tmp/b50k/archive.db [--out bench/results/reextract-50k.json]

Runs `govbrief reextract --db DB` (every article again from its capture, in the archive itself:
re-extraction is repeatable, so a second run changes nothing) and samples the resident memory of its
process tree (the command, its fork server and workers) ten times a second. Reported: the peak of each
quarter of the run's wall-clock (flat memory: four equal peaks; memory growing with the archive: a
rising series), the peak overall, the wall-clock and the articles re-extracted. Issue 13: "reextract of
50k captures runs in flat memory".
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from throughput_bench import REPO, tree_rss_mb


def measure(db: str) -> dict:
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "govbrief", "reextract", "--db", db], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    samples: list[tuple[float, float]] = []
    while proc.poll() is None:
        samples.append((time.monotonic() - started, tree_rss_mb(proc.pid)))
        time.sleep(0.1)
    stdout, stderr = proc.communicate()
    wall = time.monotonic() - started
    quarters = [max((mb for t, mb in samples if k * wall / 4 <= t < (k + 1) * wall / 4), default=0.0)
                for k in range(4)]
    return {"db": db, "seconds": round(wall, 1), "exit": proc.returncode, "summary": stdout.strip().splitlines()[-1:],
            "peak_mb": round(max((mb for _, mb in samples), default=0.0), 1),
            "peak_mb_by_quarter": [round(q, 1) for q in quarters], "samples": len(samples),
            "stderr_tail": stderr.strip().splitlines()[-5:] if proc.returncode else []}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("db", help="the archive to re-extract (in place)")
    parser.add_argument("--out", help="write the figures as JSON here")
    args = parser.parse_args()
    result = measure(args.db)
    print(json.dumps(result, ensure_ascii=False))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0 if result["exit"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
