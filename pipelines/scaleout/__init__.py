"""Scale-out: the crawl state many workers share through Redis (frontier, seen-set, budgets, politeness
leases, run and worker lifecycle) and the capture queue from workers to the archive.

`state.py` knows every Redis key and the atomic steps on them (Lua scripts, so N workers on N machines
never race); `captures.py` is the reliable capture queue. The Scrapy side is crawler/redis_mode.py, the
archive side pipelines/process/redis_queue.py. Layout and guarantees: docs/scale-out.md.
"""
