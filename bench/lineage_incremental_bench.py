"""The crawl's lineage path at scale: `update_lineage` (batches of 2,000 against the persisted state) on
the lineage benchmark's synthetic archive, then `cluster_archive` on the same archive, and whether the
two give the same clusters.

    .venv/bin/python bench/lineage_incremental_bench.py --articles 20000
    .venv/bin/python bench/lineage_incremental_bench.py --articles 20000 --batch 200

The archive (corpus sentences with names and figures changed, 5% derived copies; see lineage_bench.py)
is built once per size under --workdir and copied for each run.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import lineage_bench  # noqa: E402

from pipelines.lineage import clusters, incremental  # noqa: E402
from pipelines.store import storage  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--articles", type=int, default=20_000)
    ap.add_argument("--batch", type=int, default=incremental.BATCH)
    ap.add_argument("--corpus", type=Path, default=lineage_bench.DEFAULT_CORPUS)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp"))
    args = ap.parse_args(argv)
    base = args.workdir / f"govbrief-lineage-incremental-{args.articles}.db"
    if not base.exists():
        lineage_bench.synth_archive(base, args.articles, lineage_bench.load_corpus(args.corpus),
                                    random.Random(20250101))
    work = args.workdir / "govbrief-lineage-incremental-run.db"
    shutil.copy(base, work)
    db = storage.open_db(work)
    try:
        incremental.preload_libraries()
        cpu, wall = time.process_time(), time.perf_counter()
        stats = incremental.update_lineage(db, batch=args.batch)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        print(f"update_lineage, batches of {args.batch}: {stats}; CPU {cpu:.1f} s, wall {wall:.1f} s")
        members = sorted(db.execute("select article_id, cluster_id from article_clusters").fetchall())
        clusters.cluster_archive(db)
        full = sorted(db.execute("select article_id, cluster_id from article_clusters").fetchall())
        print(f"the same clusters as cluster_archive: {members == full} ({len(members)} / {len(full)} members)")
        return 0 if members == full else 1
    finally:
        db.close()
        work.unlink(missing_ok=True)


if __name__ == "__main__":
    raise SystemExit(main())
