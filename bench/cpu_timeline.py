"""Where a command's cores go: the CPU of each of its processes every 0.1 s, and the idle core-seconds.

    .venv/bin/python bench/cpu_timeline.py [--show] -- .venv/bin/govbrief process --db DB
    .venv/bin/python bench/cpu_timeline.py --show -- .venv/bin/govbrief crawl --sources S --db DB --delay 0

A throughput figure says how long a run took; this says why: which process (crawl, processing writer,
fork server, workers) used how much CPU when, and how many core-seconds no process used (the machine's
cores times the wall-clock, minus the tree's CPU). A server the command talks to is not in the tree:
its CPU counts as idle here, and so does what a process spends after its last sample (under 0.1 s: a
process that lives less than that is missed). Linux only (/proc). Used for the idle figures in docs/architecture.md.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

from throughput_bench import process_cpu_s, process_tree


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU of one process so far, or None when it is gone."""
    try:
        return process_cpu_s(pid)
    except OSError:
        return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--show", action="store_true", help="print the timeline, not only the totals")
    parser.add_argument("--interval", type=float, default=0.1)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command to run after --")
    cores = len(os.sched_getaffinity(0))
    started = time.monotonic()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    order: list[int] = []
    last: dict[int, float] = {}
    rows: list[tuple[float, dict[int, float]]] = []
    while proc.poll() is None:
        now = time.monotonic() - started
        used = {}
        for pid in process_tree(proc.pid):
            cpu = cpu_seconds(pid)
            if cpu is None:
                continue
            if pid not in order:
                order.append(pid)
            used[pid], last[pid] = cpu - last.get(pid, 0.0), cpu
        rows.append((now, used))
        time.sleep(args.interval)
    wall = time.monotonic() - started
    idle, before = 0.0, 0.0
    for at, used in rows:
        idle += max(0.0, cores * (at - before) - sum(used.values()))
        before = at
        if args.show:
            print(f"{at:6.2f} " + " ".join(f"{used.get(pid, 0.0):5.2f}" for pid in order))
    total = sum(last.values())
    print(f"wall {wall:.2f} s, CPU {total:.2f} s on {cores} cores, idle {idle:.2f} core-s; per process "
          f"(in start order): " + ", ".join(f"{last[pid]:.2f}" for pid in order))
    return proc.returncode or 0


if __name__ == "__main__":
    sys.exit(main())
