"""kill -9 the crawl at random moments, then check the archive: nothing lost, nothing twice, nothing torn.

    .venv/bin/python bench/kill9.py                 # 20 kills (the figures in docs/reliability.md)
    .venv/bin/python bench/kill9.py --kills 3       # what tests/test_crash.py runs

A column of PAGES x PER_PAGE articles is served by tests/faultserver.py with a small latency so a
full crawl lasts a few seconds; each trial starts `govbrief crawl` and sends SIGKILL after a random
delay (seeded). Kills come in rounds on a fresh archive (default 4 per round), so that they land
on crawls with work left rather than on an archive that is already complete.
After every kill: PRAGMA integrity_check and the FTS5 integrity checks pass and
every capture decompresses to its sha256. After each round's kills, one normal run must leave every
article archived exactly once, no unfinished frontier, every article in the lineage state and the
repost clusters of the whole-archive computation.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO))

from faultserver import start_fault_web  # noqa: E402
from support import copy_archive  # noqa: E402

from pipelines.store import storage  # noqa: E402


def crawl_command(sources: Path, db: Path) -> list[str]:
    return [sys.executable, "-m", "govbrief", "crawl", "--sources", str(sources), "--db", str(db), "--delay", "0",
            "--log-level", "WARNING", "-s", "DOWNLOAD_TIMEOUT=5"]


def check_archive(db_path: Path) -> dict:
    """Integrity of the file, the FTS indexes and every capture; raises AssertionError when broken."""
    db = storage.open_db(db_path)
    try:
        problems = storage.integrity_problems(db, quick=False)
        assert problems == [], problems
        if not db.table_names():  # killed while the archive was being made (one transaction): empty
            assert db.execute("pragma user_version").fetchone()[0] == 0
            return {"articles": 0, "captures": 0}
        torn = 0
        for row in db.query("select id, body, body_encoding, sha256 from captures"):
            body = gzip.decompress(row["body"]) if row["body_encoding"] == "gzip" else row["body"]
            torn += hashlib.sha256(body).hexdigest() != row["sha256"]
        assert torn == 0, f"{torn} captures do not match their sha256"
        urls = [r["url"] for r in db.query("select url from articles")]
        assert len(urls) == len(set(urls)), "an article is archived twice"
        orphans = next(db.query("select count(*) n from articles a left join captures c on c.id = a.capture_id "
                                "where c.id is null"))["n"]
        assert orphans == 0, f"{orphans} articles point to no capture"
        return {"articles": len(urls), "captures": next(db.query("select count(*) n from captures"))["n"]}
    finally:
        db.close()


def lineage_check(db_path: Path, workdir: Path) -> dict:
    """After a round's finishing run: every article is in the persisted lineage state, and the clusters
    (members, similarities, evidence) are those the whole-archive computation gives on a copy: kills
    during the steps taken while processing drains (govbrief.runs.LineageMeanwhile) lose or double none."""
    from pipelines.lineage.clusters import cluster_archive

    def memberships(conn: sqlite3.Connection) -> list[tuple]:
        return sorted(conn.execute("select * from article_clusters").fetchall())

    conn = sqlite3.connect(db_path)
    unindexed = conn.execute("select count(*) from articles a left join lineage_docs d on d.article_id = a.id "
                             "where d.article_id is null").fetchone()[0]
    stepped = memberships(conn)
    conn.close()
    copies = workdir / f"lineage-of-{db_path.stem}"
    copies.mkdir(exist_ok=True)
    db = storage.open_db(copy_archive(db_path, copies))
    try:
        cluster_archive(db)
        full = memberships(db.conn)
    finally:
        db.close()
    return {"unindexed": unindexed, "clustered": len(stepped), "same_as_full": stepped == full}


def run(kills: int, seed: int, pages: int, per_page: int, latency: float, workdir: Path,
        kills_per_round: int = 4) -> dict:
    """`kills` SIGKILLs in rounds: each round starts an empty archive, kills up to kills_per_round
    crawls, then lets one run finish and checks the result (so every kill lands on real work)."""
    rng = random.Random(seed)
    with start_fault_web() as web:
        web.big_pages, web.per_page, web.latency = pages, per_page, latency
        sources = web.write_sources(workdir / "sources.yml", faulty=False, trap=False, wide=False, big=True)
        # one undisturbed crawl into a scratch archive: how long a full run takes
        started = time.monotonic()
        subprocess.run(crawl_command(sources, workdir / "scratch.db"), cwd=REPO, check=True, capture_output=True)
        full_run_s = time.monotonic() - started
        expected = set(web.big_urls())
        trials, rounds, left = [], [], kills
        while left > 0:
            round_no, db = len(rounds) + 1, workdir / f"archive-{len(rounds) + 1}.db"
            for _ in range(min(kills_per_round, left)):
                left -= 1
                delay = rng.uniform(0.5, full_run_s * 0.8)
                process = subprocess.Popen(crawl_command(sources, db), cwd=REPO, stdout=subprocess.DEVNULL,
                                           stderr=subprocess.DEVNULL)
                try:
                    process.wait(timeout=delay)
                    finished = True  # it beat the kill
                except subprocess.TimeoutExpired:
                    os.kill(process.pid, signal.SIGKILL)
                    process.wait()
                    finished = False
                state = check_archive(db) if db.exists() else {"articles": 0, "captures": 0}
                trials.append({"round": round_no, "kill_after_s": round(delay, 2), "finished_first": finished,
                               **state})
            started = time.monotonic()
            final = subprocess.run(crawl_command(sources, db), cwd=REPO, capture_output=True, text=True,
                                   timeout=600)
            final_s = time.monotonic() - started
            state = check_archive(db)
            conn = sqlite3.connect(db)
            archived = [r[0] for r in conn.execute("select url from articles")]
            frontier = conn.execute("select count(*) from crawl_frontier where state != 'done'").fetchone()[0]
            runs = dict(conn.execute("select status, count(*) from crawl_runs group by status").fetchall())
            conn.close()
            rounds.append({
                "round": round_no, "final_exit": final.returncode, "lineage": lineage_check(db, workdir),
                "final_run_s": round(final_s, 2),
                "final_stdout": final.stdout.strip(), "articles_archived": len(archived),
                "articles_distinct": len(set(archived)), "missing": sorted(expected - set(archived))[:10],
                "extra": sorted(set(archived) - expected)[:10], "frontier_left": frontier, "runs_by_status": runs,
                "captures": state["captures"],
            })
        return {
            "kills": kills, "seed": seed, "articles_expected": len(expected), "full_run_s": round(full_run_s, 2),
            "kills_mid_crawl": sum(not t["finished_first"] for t in trials), "trials": trials, "rounds": rounds,
            "integrity": "ok",  # check_archive raised otherwise
            "ok": all(r["final_exit"] == 0 and not r["missing"] and not r["extra"]
                      and r["lineage"]["unindexed"] == 0 and r["lineage"]["same_as_full"]
                      and r["articles_archived"] == r["articles_distinct"] == len(expected) for r in rounds),
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--pages", type=int, default=15)
    parser.add_argument("--per-page", type=int, default=20)
    parser.add_argument("--latency", type=float, default=0.02, help="seconds the server waits per /big/ answer")
    parser.add_argument("--json", help="also write the result here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="govbrief-kill9-") as tmp:
        result = run(args.kills, args.seed, args.pages, args.per_page, args.latency, Path(tmp))
    text = json.dumps(result, ensure_ascii=False, indent=1)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n", encoding="utf-8")
    ok = result["ok"]
    print("PASS" if ok else "FAIL", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
