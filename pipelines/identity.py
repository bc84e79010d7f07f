"""Who the archive says it is: the crawler's User-Agent, also written into WARC request records."""

USER_AGENT = "govbrief/0.1 (+https://github.com/govbrief/govbrief; archive of public government news)"
