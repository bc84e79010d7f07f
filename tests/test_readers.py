"""Readers during writes: a real `datasette serve` answers a steady stream of queries while a real
crawl writes the archive; not one reader error (WAL, busy timeouts, short write transactions).
bench/readers.py is the same measurement, larger, for docs/reliability.md."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import readers  # noqa: E402


def test_datasette_answers_every_query_while_a_crawl_writes(tmp_path):
    result = readers.run(pages=4, per_page=20, latency=0.0, readers=2, workdir=tmp_path)
    assert result["crawl_exit"] == 0, result["crawl_stdout"]
    assert result["articles_written"] == 80
    assert result["queries"] >= 50  # a steady stream, not a handful
    assert result["reader_errors"] == 0, result["error_samples"]
