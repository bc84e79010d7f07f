"""kill -9 at random moments (3 times here; bench/kill9.py does it 20 times for the figures).

After every kill the file, the FTS indexes and every capture are intact; after one more normal run
every article is archived exactly once and the killed runs are marked interrupted.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import kill9  # noqa: E402


def test_kill9_three_times_then_complete(tmp_path):
    result = kill9.run(kills=3, seed=3, pages=6, per_page=20, latency=0.01, workdir=tmp_path, kills_per_round=3)
    # check_archive (inside run) already asserted integrity, FTS and capture hashes after each kill
    assert result["integrity"] == "ok" and result["ok"], result["rounds"]
    [final] = result["rounds"]
    assert final["final_exit"] == 0, final["final_stdout"]
    assert final["missing"] == [] and final["extra"] == []
    assert final["articles_archived"] == final["articles_distinct"] == result["articles_expected"] == 120
    assert final["frontier_left"] == 0
    assert result["kills_mid_crawl"] >= 1  # at least one kill hit a crawl at work (seeded delays)
    assert final["runs_by_status"].get("interrupted", 0) <= result["kills_mid_crawl"]
    assert final["runs_by_status"]["ok"] >= 1
