"""Was a crawl run healthy? The exit status cron sees is derived here, from what the crawl did.

`scrapy crawl` exits 0 on most failures, so the verdict is computed from per-source counters:
- a few dead links are normal: a run stays healthy while failed article fetches are at most
  MAX_ERROR_RATIO of the article fetches attempted;
- a source whose list pages, sitemaps and feeds all failed, or that offered no article link at all
  (neither new nor already archived), is broken: the site moved, blocks us, or changed its template;
- a run that did not finish by itself (killed, timed out) is not healthy;
- refusals (robots.txt, out of scope, a name resolving to a private address) are our decisions:
  recorded in fetch_errors as 'refused: ...' but never counted as failures of the site;
- a page that was fetched but held no article text counts as fetched, not as failed.
A run whose archive could not be written (disk full, I/O error) exits EXIT_STORAGE (govbrief/cli.py).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

EXIT_OK = 0
EXIT_UNHEALTHY = 1
EXIT_BAD_INPUT = 2  # malformed sources file, unusable database path: nothing was crawled
EXIT_CRASH = 70  # EX_SOFTWARE: govbrief itself failed (a bug); the traceback is in the log
EXIT_LOG = 73  # EX_CANTCREAT: the --log-file (or its folder) cannot be created or written
EXIT_STORAGE = 74  # EX_IOERR: the archive could not be written during the run (disk full, I/O error)
EXIT_LOCKED = 75  # EX_TEMPFAIL: another crawl holds the lock; try again later
EXIT_NAMES = {EXIT_OK: "ok", EXIT_UNHEALTHY: "unhealthy", EXIT_BAD_INPUT: "bad input", EXIT_CRASH: "crashed",
              EXIT_LOG: "log not writable", EXIT_STORAGE: "archive not writable", EXIT_LOCKED: "locked"}

MAX_ERROR_RATIO = 0.5


@dataclass
class RunVerdict:
    exit_status: int
    status: str  # ok | unhealthy | storage_error
    problems: list[str]

    @property
    def message(self) -> str:
        return "; ".join(self.problems) if self.problems else "all sources healthy"


def assess_run(source_stats: dict[str, Counter], finish_reason: str | None) -> RunVerdict:
    """Verdict for one run from the spider's per-source counters (see GovSpider.source_stats)."""
    problems: list[str] = []
    if finish_reason not in (None, "finished"):
        problems.append(f"crawl ended early: {finish_reason}")
    for source_id, stats in sorted(source_stats.items()):
        entry_ok = stats["list_ok"] + stats["sitemap_ok"] + stats["feed_ok"]
        if entry_ok == 0:
            problems.append(f"{source_id}: no list page, sitemap or feed could be fetched "
                            f"({stats['list_failed'] + stats['sitemap_failed'] + stats['feed_failed']} failed)")
            continue
        if stats["article_links"] == 0:
            problems.append(f"{source_id}: list pages offered no article link (template changed?)")
        attempted = stats["article_ok"] + stats["article_failed"]
        if attempted and stats["article_failed"] / attempted > MAX_ERROR_RATIO:
            problems.append(f"{source_id}: {stats['article_failed']} of {attempted} article fetches failed")
    return RunVerdict(EXIT_UNHEALTHY if problems else EXIT_OK, "unhealthy" if problems else "ok", problems)
