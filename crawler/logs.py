"""A crawl log a person can read from cron: no banner, one line per problem, no DNS tracebacks.

Scrapy logs ~100 lines of settings, middleware and stats dumps per run at INFO, and a full traceback
when robots.txt cannot be resolved. The run's figures are in crawl_runs (and the summary line
govbrief writes at the end), so those loggers are raised to WARNING, and a failed name lookup is
logged as its one-line message.
"""

from __future__ import annotations

import logging

# Loggers whose INFO output is the start-up banner and the end-of-run stats dump.
BANNER_LOGGERS = ("scrapy.utils.log", "scrapy.middleware", "scrapy.crawler", "scrapy.statscollectors",
                  "scrapy.extensions.telnet", "scrapy.extensions.remote_control", "scrapy.addons",
                  "scrapy.core.engine", "scrapy.extensions.memusage", "scrapy.extensions.logstats",
                  "htmldate", "trafilatura", "protego")
# Errors that are facts about a site (cannot resolve, connection refused), not bugs: no traceback.
QUIET_EXCEPTIONS = ("DNSLookupError", "CannotResolveHostError", "ConnectionRefusedError", "TimeoutError",
                    "TCPTimedOutError", "ConnectError")


class NoSiteTracebacks(logging.Filter):
    """Drop the traceback of a record whose exception is a site's network failure (keep the message)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[0] is not None:
            if record.exc_info[0].__name__ in QUIET_EXCEPTIONS:
                record.msg = f"{record.getMessage()} ({record.exc_info[0].__name__})"
                record.args = ()
                record.exc_info = None
                record.exc_text = None
        return True


# Loggers that attach tracebacks to network failures of sites (robots.txt download, downloader, scraper).
# Filters sit on these loggers, not on a handler: Scrapy replaces its root handler when a crawler starts.
TRACEBACK_LOGGERS = ("scrapy.downloadermiddlewares.robotstxt", "crawler.middlewares", "scrapy.core.scraper",
                     "scrapy.core.downloader", "scrapy.core.engine", "scrapy.downloadermiddlewares.retry")


def quiet_scrapy_logging(level: int = logging.INFO) -> None:
    """Call after CrawlerProcess is created (its dictConfig resets the levels of scrapy.* loggers) and
    before the crawler: filters set on loggers survive Scrapy replacing its root handler."""
    for name in TRACEBACK_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, NoSiteTracebacks) for f in logger.filters):
            logger.addFilter(NoSiteTracebacks())
    # Scrapy leaves its loggers at NOTSET and filters at the root handler, so each response and item
    # still builds its DEBUG record ("Crawled (200)", "Scraped from") only for the handler to drop it.
    logging.getLogger("scrapy").setLevel(level)
    if level != logging.INFO:
        return  # WARNING/ERROR runs are quiet already; DEBUG runs want everything
    for name in BANNER_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
