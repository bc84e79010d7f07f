"""Scrapy settings for govbrief: polite by default, bounded everywhere.

`govbrief crawl` and `scrapy crawl govbrief` both use these; tests and the demo lower the delays
through the command line (`--delay 0`), never by editing this file.
"""

BOT_NAME = "govbrief"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

from pipelines.identity import USER_AGENT as CRAWLER_USER_AGENT  # noqa: E402

# Who we are and how to reach us: site operators see this in their logs.
USER_AGENT = CRAWLER_USER_AGENT
ROBOTSTXT_OBEY = True

# Politeness: one or two requests at a time per site, adaptive delay.
CONCURRENT_REQUESTS = 8
CONCURRENT_REQUESTS_PER_DOMAIN = 2
DOWNLOAD_DELAY = 1.0
DOWNLOAD_DELAY_JITTER = 0.5  # +-50% so requests do not arrive like a metronome
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0

# Limits: no page of news is 10 MB; slow servers must not hang a cron run.
DOWNLOAD_MAXSIZE = 10 * 1024 * 1024
DOWNLOAD_WARNSIZE = 2 * 1024 * 1024
DOWNLOAD_TIMEOUT = 30
RETRY_ENABLED = True
RETRY_TIMES = 2
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
REDIRECT_MAX_TIMES = 5
METAREFRESH_MAXDELAY = 10
DEPTH_LIMIT = 0  # depth is bounded per source by the spider (max_depth, max_pages)
DNS_TIMEOUT = 20
CLOSESPIDER_TIMEOUT = 3 * 3600  # a cron run never lasts longer than three hours

COOKIES_ENABLED = True  # some CMS anti-bot pages set a cookie and expect it back
# No listeners: a cron run opens no port (Scrapy >= 2.19 starts a remote-control listener by default).
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False
HTTPCACHE_ENABLED = False
LOG_LEVEL = "INFO"

DOWNLOAD_FAIL_ON_DATALOSS = True  # a truncated body is a failed fetch (retried next run), never an article
# Safety net: Scrapy closes the run (reason memusage_exceeded -> exit 1) rather than let it swap.
MEMUSAGE_ENABLED = True
MEMUSAGE_LIMIT_MB = 1536
MEMUSAGE_WARNING_MB = 768
MEMUSAGE_CHECK_INTERVAL_SECONDS = 15

# Retry-After is honoured up to this many seconds; a server asking for longer is retried next run.
GOVBRIEF_RETRY_AFTER_MAX = 120
# Without Retry-After, wait GOVBRIEF_RETRY_BACKOFF * 2**attempt seconds before retrying a 5xx/429.
GOVBRIEF_RETRY_BACKOFF = 1.0
# A URL that failed in this many runs is no longer retried by later runs (a list page may still link it).
GOVBRIEF_RETRY_RUNS = 5

# DNS: a host name resolving to a private/loopback/link-local address is refused (see SafeResolver);
# list intranet names here if the archive really must crawl one. Literal IPs named by a source work.
TWISTED_DNS_RESOLVER = "crawler.middlewares.SafeResolver"
GOVBRIEF_PRIVATE_HOSTS: list[str] = []

# The built-in offsite filter only knows host names; ours knows host:port origins and redirects.
# Scrapy's retry is replaced by one that honours Retry-After and backs off (same priority, 550).
DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.offsite.OffsiteMiddleware": None,
    "crawler.middlewares.SourceScopeMiddleware": 50,
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawler.middlewares.RetryAfterMiddleware": 550,
}
ITEM_PIPELINES = {
    "crawler.pipeline.ArchivePipeline": 300,
}
# The run's state (archive writer, processing, verdict): see crawler/run.py.
EXTENSIONS = {
    "crawler.run.ArchiveRun": 0,
}

# govbrief's own settings (overridable with -s)
GOVBRIEF_SOURCES = "sources.yml"  # the registry
GOVBRIEF_DB = "archive.db"  # the archive
GOVBRIEF_RUN_ID = None  # set by `govbrief crawl`, which owns the crawl_runs row
GOVBRIEF_PROCESS = True  # process captures (extract articles) on every core while crawling
GOVBRIEF_PROCESS_WORKERS = None  # worker processes for processing (default: one per CPU)
