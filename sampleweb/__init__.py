"""The sample web: small, realistic Chinese local-government sites served on 127.0.0.1.

The demo crawls it and the crawl tests run against it, offline and deterministic:

    from sampleweb import start_sample_web, EXPECTED

    with start_sample_web() as web:
        sources_file = web.write_sources(tmp_path / "sources.yml")
        ...  # crawl, then compare the archive with EXPECTED["articles"]

Four sites, one port each: city-trs (TRS WCM, script-only pagination, robots.txt, calendar link
trap), district-hanweb (Hanweb datastore lists, pageNum pagination, sitemap-only article),
farm-repost (spammy content-farm reposts, a Traditional copy, RSS-only article) and county-gbk
(GBK pages served with a wrong charset header, Atom-only article). expected.json is the ground
truth; build_sites.py regenerates the static files and it.
"""

from __future__ import annotations

import json
from typing import Any

from sampleweb.layout import EXPECTED_PATH, SITE_IDS, SITES_DIR, SOURCES_TEMPLATE
from sampleweb.server import RequestRecord, SampleWeb, start_sample_web

EXPECTED: dict[str, Any] = json.loads(EXPECTED_PATH.read_text(encoding="utf-8"))

__all__ = [
    "EXPECTED",
    "EXPECTED_PATH",
    "SITES_DIR",
    "SITE_IDS",
    "SOURCES_TEMPLATE",
    "RequestRecord",
    "SampleWeb",
    "start_sample_web",
]
