"""What scale-out adds to the archive's schema (numbered migrations 60-69, pipelines/store/migrations.py)."""

from __future__ import annotations

import sqlite_utils


def add_run_worker(db: sqlite_utils.Database) -> None:
    """Migration 60: crawl_runs.worker, the scale-out worker a run record belongs to. `govbrief process`
    finds a worker's run by it and closes the runs of workers that died, also after Redis lost its data."""
    if "worker" not in db["crawl_runs"].columns_dict:
        db["crawl_runs"].add_column("worker", str)
    db["crawl_runs"].create_index(["worker"], if_not_exists=True)
