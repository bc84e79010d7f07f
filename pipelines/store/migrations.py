"""Numbered schema migrations: how an archive of any earlier govbrief version reaches today's schema.

`PRAGMA user_version` records the last migration an archive has had. `migrate` runs the missing ones in
order, each in its own transaction together with the user_version bump, so a kill between two steps
leaves the archive at a well-defined version (a new, empty archive gets them all in one transaction).
Rules for a new migration:

- append it with the next number; never edit or renumber one that has landed (archives in the wild
  have run it);
- the step lives next to the feature that owns the tables (a function in that feature's module) and
  is listed here; it may only add (tables, columns, indexes, views) or rewrite data in place;
- callers hold the run lock: only writers migrate; read-only commands open the archive read-only and
  refuse an archive that is newer than the code (see `check_version`).
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Callable
from dataclasses import dataclass

import sqlite_utils


@dataclass(frozen=True)
class Migration:
    number: int
    name: str
    apply: Callable[[sqlite_utils.Database], None]


def _step(module: str, function: str) -> Callable[[sqlite_utils.Database], None]:
    """A migration step that lives in its feature's module, imported only when the step runs."""
    def apply(db: sqlite_utils.Database) -> None:
        getattr(importlib.import_module(module), function)(db)

    return apply


def _baseline(db: sqlite_utils.Database) -> None:
    """Migration 1: the core tables (storage) and the tables the features of govbrief 0.1 owned. Each
    lives next to its feature; this module assembles them, so storage imports none of the features."""
    from pipelines.extract.boilerplate import ensure_boilerplate_schema
    from pipelines.lineage.clusters import ensure_lineage_schema
    from pipelines.recheck.policy import ensure_recheck_schema
    from pipelines.store.storage import create_baseline_schema

    create_baseline_schema(db)
    ensure_boilerplate_schema(db)
    ensure_recheck_schema(db)
    ensure_lineage_schema(db)


MIGRATIONS: list[Migration] = [
    Migration(1, "baseline: sources, captures, articles, runs, errors, frontier, boilerplate, recheck, lineage",
              _baseline),
    Migration(2, "captures.kind and captures.processed_at: capture and processing run apart",
              _step("pipelines.process.pending", "add_processing_state")),
    Migration(3, "lineage state: persisted LSH band buckets and fingerprints, changed-article triggers",
              _step("pipelines.lineage.incremental", "ensure_incremental_schema")),
    Migration(10, "crawl_frontier states (pending/done/failed, attempts, next try), crawl_backlog",
              _step("pipelines.store.frontier", "migrate_frontier_states")),
    Migration(11, "fetch_errors.category; crawl_runs new/known-dead/refused/no-article/skipped counts",
              _step("pipelines.store.storage", "migrate_error_categories")),
    Migration(12, "URL keys re-canonicalised with w3lib (percent-encoding, parameter order)",
              _step("pipelines.store.frontier", "migrate_canonical_keys")),
    Migration(13, "attachments: files linked by articles, with extracted text and a full-text index",
              _step("pipelines.attachments.store", "migrate_attachments")),
    Migration(14, "captures.part_of/part_no: the later pages of a multi-page article",
              _step("pipelines.process.pending", "migrate_capture_parts")),
    Migration(20, "articles: doc_number, index_no, issuing_org, written_date, extraction provenance (JSON)",
              _step("pipelines.extract.archive_schema", "add_extraction_columns")),
    Migration(40, "facts and projects tables, investment_announcements view",
              _step("pipelines.facts.store", "create_facts_schema")),
    Migration(41, "facts of the articles archived before facts existed",
              _step("pipelines.facts.store", "backfill_facts")),
    Migration(50, "sources: region as province/city/county with admin codes, source_type",
              _step("pipelines.places.regions", "add_region_levels")),
    Migration(51, "articles: (source_id, published_month, published) index for the reader's counts and facets",
              _step("pipelines.search.finder", "add_facet_index")),
    Migration(60, "crawl_runs.worker: the scale-out worker of a run record",
              _step("pipelines.scaleout.schema", "add_run_worker")),
    Migration(61, "attachments searched by the Chinese substring index: the trigram index dropped",
              _step("pipelines.attachments.store", "drop_trigram_index")),
    Migration(62, "lineage: a changed publication date or 来源 re-clusters the article (the canonical copy)",
              _step("pipelines.lineage.incremental", "mark_dirty_on_date_and_source")),
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


def ensure_schema(db: sqlite_utils.Database) -> None:
    """Bring the archive to the current schema: run the numbered migrations it has not had yet, then let
    the search index catch up. Idempotent; call it holding the run lock (a writer), never from a
    read-only command. It lives here, not in storage: the steps import the feature modules, which
    import storage, so storage importing this module made a circle."""
    migrate(db)


def migrate(db: sqlite_utils.Database) -> list[int]:
    """Run every migration the archive has not had, in order; then sync the search index. Returns the
    numbers applied."""
    from pipelines.search.search_index import ensure_search_schema

    todo = pending(db)
    # A new archive is made in one transaction (each step a savepoint in it), its search index with it: a
    # kill while it is being made leaves an empty file (the next run starts it again), never a schema
    # half made; and it is one commit instead of one per migration (~20 of a first crawl's commits).
    fresh = bool(todo) and todo[0] is MIGRATIONS[0] and not db.table_names()
    with db.conn if fresh else contextlib.nullcontext():
        for migration in todo:
            with db.conn:
                migration.apply(db)
                db.execute(f"PRAGMA user_version = {migration.number}")
        # Not a migration: the index is derived data with its own format version; it rebuilds itself when
        # that version (or the fold table) changed and is cheap when current.
        ensure_search_schema(db)
    return [migration.number for migration in todo]
