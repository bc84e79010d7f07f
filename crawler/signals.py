"""The spider's signals to the run (crawler/run.py): what to remember in the archive, and when.

The spider never touches the archive during the crawl; it announces, and ArchiveRun writes (in
order, batched, off the reactor thread). Sent with crawler.signals.send_catch_log(signal, **kwargs).
"""

# frontier_add(source_id: str, kind: 'article' | 'list', urls: list[str], depth: int): scheduled URLs,
# remembered before they are requested so a killed run resumes them
frontier_add = object()
# frontier_done(source_id: str, url: str): a list page was read to the end (or failed for good)
frontier_done = object()
# fetch_failed(error: dict(source_id, url, kind, reason, status)): a request failed or was refused
fetch_failed = object()
