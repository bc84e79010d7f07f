"""Scrapy settings for govbrief: polite by default, bounded everywhere.

`govbrief crawl` and `scrapy crawl govbrief` both use these; tests and the demo lower the delays
through the command line (`--delay 0`), never by editing this file.
"""

BOT_NAME = "govbrief"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

# Who we are and how to reach us: site operators see this in their logs.
USER_AGENT = "govbrief/0.1 (+https://github.com/govbrief/govbrief; archive of public government news)"
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
TELNETCONSOLE_ENABLED = False
HTTPCACHE_ENABLED = False
LOG_LEVEL = "INFO"

# The built-in offsite filter only knows host names; ours knows host:port origins and redirects.
DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.offsite.OffsiteMiddleware": None,
    "crawler.middlewares.SourceScopeMiddleware": 50,
}
ITEM_PIPELINES = {
    "pipelines.scrapy_pipeline.ArchivePipeline": 300,
}

# govbrief's own settings (overridable with -s)
GOVBRIEF_SOURCES = "sources.yml"  # the registry
GOVBRIEF_DB = "archive.db"  # the archive
GOVBRIEF_RUN_ID = None  # set by `govbrief crawl`, which owns the crawl_runs row
