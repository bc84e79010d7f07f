"""The spider's signals to the run (crawler/run.py): what to remember in the archive, and when.

The spider never touches the archive during the crawl; it announces, and ArchiveRun writes (in
order, batched, off the reactor thread) or, in a scale-out worker, crawler/redis_mode.py sends it
through Redis to `govbrief process`. Sent with crawler.signals.send_catch_log(signal, **kwargs).
"""

# frontier_write(function, args: tuple, kwargs: dict): a pipelines.store.frontier write, run as
# function(db, *args, **kwargs) in the run's order (a list page marked done in the same transaction
# that queues its links, see frontier.list_processed). Nothing comes back to the reactor thread.
frontier_write = object()
# fetch_failed(error: dict(source_id, url, kind, reason, status[, category])): a request failed or was refused
fetch_failed = object()
