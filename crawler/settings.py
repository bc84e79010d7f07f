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
# Requests queued per host, the next taken from the host with the fewest in flight: the spider puts
# articles before list pages (crawler/spiders/govbrief.py CONTENT_PRIORITY), and one global priority
# queue (ScrapyPriorityQueue, Scrapy's default before 2.13) would then hold every other source's list
# pages until one source's article backlog is done, serialising a many-source polite crawl
# (tests/test_crawl_order.py). Scrapy 2.19's default; named here because the spider relies on it.
SCHEDULER_PRIORITY_QUEUE = "scrapy.pqueues.DownloaderAwarePriorityQueue"

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

# HTTP and HTTPS through Scrapy's own handler, except that a connection the server ends (HTTP/1.0
# without keep-alive) is closed, not pooled for the next request (crawler/connections.py)
DOWNLOAD_HANDLERS = {"http": "crawler.connections.KeptConnectionsDownloadHandler",
                     "https": "crawler.connections.KeptConnectionsDownloadHandler"}
# ... and whose TLS also speaks 1.0 and 1.1, as old portal servers do (certificates are not verified
# anyway: DOWNLOAD_VERIFY_CERTIFICATES stays off). The minimum keeps Twisted from excluding them.
DOWNLOAD_TLS_MIN_VERSION = "TLSv1.0"

COOKIES_ENABLED = True  # some CMS anti-bot pages set a cookie and expect it back
# No listeners in a cron run: the telnet console and Scrapy >= 2.19's remote-control extension (an HTTP
# server on a random local port that runs Python code sent to it, token in a job file) are both off.
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False
# ... and not even loaded: Scrapy imports every class named in EXTENSIONS, including one set to None
# (to normalise the key), but not those of EXTENSIONS_BASE. Taking the two out of the base skips
# importing aiohttp's server (0.11 s of CPU at every crawl's start, while the workers wait for the
# first captures), and -s REMOTE_CONTROL_ENABLED=1 cannot bring the listener back. Scrapy's own base
# list otherwise, so extensions a Scrapy upgrade adds are kept.
from scrapy.settings.default_settings import EXTENSIONS_BASE as _SCRAPY_EXTENSIONS  # noqa: E402

EXTENSIONS_BASE = {path: order for path, order in _SCRAPY_EXTENSIONS.items()
                   if path not in ("scrapy.extensions.remote_control.RemoteControl",
                                   "scrapy.extensions.telnet.TelnetConsole")}
# Scrapy re-reads and re-parses a callback's source on every response to warn about `return value` in
# generators: its cache is keyed on bound methods, new at each access, so it never hits (~3 % of the
# reactor's time). Our callbacks are checked by ruff and the tests instead.
WARN_ON_GENERATOR_RETURN_VALUE = False
# Scrapy (>= 2.13, asyncio reactor) hands each response's output to CONCURRENT_ITEMS asyncio tasks it
# creates for that response, whatever the output's size: at the default 100 that was ~1 ms of the
# reactor per page (a third of its time on a fast site). A callback here yields one capture item
# and plain requests, and the item pipeline only queues the capture, so a few tasks lose nothing.
CONCURRENT_ITEMS = 4
HTTPCACHE_ENABLED = False
LOG_LEVEL = "INFO"
LOG_VERSIONS: list[str] = []  # no library version banner in every cron log (crawler/logs.py quiets the rest)

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
# A URL that failed is retried by later runs on a backoff (pipelines/store/frontier.py: retry_at): a first
# transient failure at the next run, then this many hours x 2^k, capped at 30 days.
GOVBRIEF_RETRY_BASE_HOURS = 20.0
# Attachments (PDF, DOC(X), XLS(X), WPS, OFD, ZIP) larger than this are not downloaded.
GOVBRIEF_ATTACHMENT_MAXSIZE = 20 * 1024 * 1024

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
    # Scrapy's, fixed so that every request waiting for robots.txt is checked (see the class)
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "crawler.middlewares.RobotsTxtMiddleware": 100,
    # Scrapy's, except that a refresh to javascript:/mailto: keeps the page instead of raising ValueError
    "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware": None,
    "crawler.middlewares.MetaRefreshMiddleware": 580,
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
