"""Imported by the worker pool's fork server: loading this module is the workers' warm-up.

multiprocessing's forkserver imports its preload modules by name once, then forks every worker from
that process. Importing this module loads the extraction stack and runs one page of the common
government shape through processing, so what loads lazily on the first extraction (the national
place table and its automaton, the fold and rule tables: ~0.55 s of CPU with the imports) is built
once, in the fork server, and every worker starts with it (copy-on-write), instead of each worker
loading it again (pipelines/process/worker.py: `fork_server_context`).
"""

from __future__ import annotations

import os

from pipelines.process.steps import process_capture
from pipelines.process.tasks import CaptureTask

# A page of the common government shape: an info line, PubDate, a meeting with money and a place.
WARM_UP_PAGE = ("<html><head><meta charset='utf-8'><title>某市召开重大项目推进会_某市人民政府</title>"
                "<meta name='PubDate' content='2024-03-05 10:00'></head><body><h1>某市召开重大项目推进会</h1>"
                "<div class='info'>发布时间：2024-03-05 来源：某市发展改革委</div><div class='content'>"
                + "<p>3月5日，江苏省某市召开重大项目推进会，市长出席会议并讲话。会上集中签约项目12个，"
                  "总投资一百二十亿元，同比增长15.2%。</p>" * 4 + "</div></body></html>")


def warm_up() -> None:
    """Run the warm-up page through processing."""
    url = "http://www.example.gov.cn/xwzx/202403/t20240305_1.html"
    process_capture(CaptureTask(capture_id=0, url=url, final_url=url, status=200,
                                         headers={"Content-Type": "text/html; charset=utf-8"},
                                         body=WARM_UP_PAGE.encode("utf-8"), body_encoding=None,
                                         fetched_at="2024-03-06T00:00:00Z", source_id=None, run_id=None,
                                         region="江苏省"))


warm_up()
LOADED_IN = os.getpid()  # the fork server's pid in every worker forked from it
