"""The processing writer alone: `store_processed` replayed over the same results, CPU per run.

    .venv/bin/govbrief crawl --sources S --db /tmp/captures.db --delay 0 -s GOVBRIEF_PROCESS=0   # captures only
    .venv/bin/python bench/writer_replay.py prepare /tmp/captures.db /tmp/results.pickle         # processed once
    .venv/bin/python bench/writer_replay.py run /tmp/captures.db /tmp/results.pickle [--runs 3]

`prepare` processes every waiting capture of a capture-only archive (the workers' part) and keeps the
results; `run` copies the archive for each run and writes the results into the copy in batches of 100
(the crawl's batches), printing the CPU each run took: the writer's cost without the crawl, the workers
or the machine's other processes around it. Run two trees alternately (PYTHONPATH=TREE) to compare
them; the pickle is read by both (results are plain dataclasses).
"""

from __future__ import annotations

import argparse
import pickle
import resource
import shutil
import sys
import tempfile
from pathlib import Path

BATCH = 100


def prepare(captures_db: str, out: str) -> int:
    from pipelines.process import pending
    from pipelines.process.worker import process_captures
    from pipelines.store import storage

    db = storage.open_db(captures_db, read_only=True)
    tasks = pending.tasks_of(db, pending.waiting_captures(db, 0, 10**9))
    db.close()
    results = process_captures(tasks)
    Path(out).write_bytes(pickle.dumps(results, protocol=pickle.HIGHEST_PROTOCOL))
    print(f"{len(results)} results kept in {out}")
    return 0


def replay(captures_db: str, results_file: str, runs: int) -> int:
    from pipelines.process.write import prepare_writer, store_processed
    from pipelines.store import storage

    results = pickle.loads(Path(results_file).read_bytes())
    prepare_writer()
    with tempfile.TemporaryDirectory(prefix="writer-replay-") as work:
        for number in range(1, runs + 1):
            copy = Path(work) / f"run{number}.db"
            shutil.copy(captures_db, copy)
            db = storage.open_db(copy, batches=True)
            before = resource.getrusage(resource.RUSAGE_SELF)
            for k in range(0, len(results), BATCH):
                store_processed(db, results[k:k + BATCH])
            after = resource.getrusage(resource.RUSAGE_SELF)
            db.close()
            cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            print(f"run {number}: {len(results)} results written, {cpu:.3f} s of CPU", flush=True)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("captures_db")
    p.add_argument("out")
    r = sub.add_parser("run")
    r.add_argument("captures_db")
    r.add_argument("results")
    r.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if args.command == "prepare":
        return prepare(args.captures_db, args.out)
    return replay(args.captures_db, args.results, args.runs)


if __name__ == "__main__":
    sys.exit(main())
