"""Numbered schema migrations: how an archive of any earlier govbrief version reaches today's schema.

`PRAGMA user_version` records the last migration an archive has had. `migrate` runs the missing ones in
order, each in its own transaction together with the user_version bump, so a kill between two steps
leaves the archive at a well-defined version. Rules for a new migration:

- append it with the next number; never edit or renumber one that has landed (archives in the wild
  have run it);
- the step lives next to the feature that owns the tables (a function in that feature's module) and
  is listed here; it may only add (tables, columns, indexes, views) or rewrite data in place;
- callers hold the run lock: only writers migrate; read-only commands open the archive read-only and
  refuse an archive that is newer than the code (see `check_version`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlite_utils


@dataclass(frozen=True)
class Migration:
    number: int
    name: str
    apply: Callable[[sqlite_utils.Database], None]


def _baseline(db: sqlite_utils.Database) -> None:
    from pipelines.store.storage import create_baseline_schema

    create_baseline_schema(db)


def _processing_state(db: sqlite_utils.Database) -> None:
    from pipelines.process.pending import add_processing_state

    add_processing_state(db)


def _lineage_state(db: sqlite_utils.Database) -> None:
    from pipelines.lineage.incremental import ensure_incremental_schema

    ensure_incremental_schema(db)


MIGRATIONS: list[Migration] = [
    Migration(1, "baseline: sources, captures, articles, runs, errors, frontier, boilerplate, recheck, lineage",
              _baseline),
    Migration(2, "captures.kind and captures.processed_at: capture and processing run apart", _processing_state),
    Migration(3, "lineage state: persisted LSH band buckets and fingerprints, changed-article triggers",
              _lineage_state),
]

SCHEMA_VERSION = MIGRATIONS[-1].number


class ArchiveTooNew(RuntimeError):
    """The archive was written by a newer govbrief: this code must not touch it."""


def schema_version(db: sqlite_utils.Database) -> int:
    return db.execute("PRAGMA user_version").fetchone()[0]


def check_version(db: sqlite_utils.Database, path: str = "archive") -> int:
    version = schema_version(db)
    if version > SCHEMA_VERSION:
        raise ArchiveTooNew(f"{path}: schema version {version} is newer than this govbrief knows "
                            f"({SCHEMA_VERSION}); upgrade govbrief")
    return version


def pending(db: sqlite_utils.Database) -> list[Migration]:
    version = check_version(db)
    return [m for m in MIGRATIONS if m.number > version]


def migrate(db: sqlite_utils.Database) -> list[int]:
    """Run every migration the archive has not had, in order; then sync the search index. Returns the
    numbers applied."""
    from pipelines.search.search_index import ensure_search_schema

    applied = []
    for migration in pending(db):
        with db.conn:
            migration.apply(db)
            db.execute(f"PRAGMA user_version = {migration.number}")
        applied.append(migration.number)
    # Not a migration: the index is derived data with its own format version; it rebuilds itself when
    # that version (or the fold table) changed and is cheap when current.
    ensure_search_schema(db)
    return applied
