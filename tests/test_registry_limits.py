"""A hostile or broken sources.yml fails fast, in little memory, with a short message naming the file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from crawler.sources import MAX_REGISTRY_BYTES, SourcesError, load_sources

ENTRY = """  - id: city-a
    name: 某市人民政府
    region: 江苏省某市
    start_urls: [http://www.a.gov.cn/xwzx/index.html]
"""

# Nine levels of nine aliases each: yaml.safe_load would build 9**9 (387 million) strings.
ALIAS_BOMB = "\n".join(
    ["lol0: &lol0 [www.a.gov.cn]"]
    + [f"lol{n}: &lol{n} [{', '.join([f'*lol{n - 1}'] * 9)}]" for n in range(1, 10)]
    + ["sources:", ENTRY.rstrip("\n"), "    allowed_domains: *lol9", ""])

# Runs the command in a fresh interpreter and reports the command's own peak memory (this test
# process has had bigger children: RUSAGE_CHILDREN of a fresh parent sees only this one).
MEASURE = """
import json, resource, subprocess, sys, time
start = time.monotonic()
result = subprocess.run(sys.argv[1:], capture_output=True, text=True, timeout=60)
print(json.dumps({"status": result.returncode, "seconds": time.monotonic() - start, "stderr": result.stderr,
                  "peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""


def check_sources(path: Path) -> dict:
    command = [sys.executable, "-m", "govbrief", "check-sources", str(path)]
    out = subprocess.run([sys.executable, "-c", MEASURE, *command], capture_output=True, text=True, timeout=120)
    return json.loads(out.stdout)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sources.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_alias_bomb_fails_fast_in_little_memory(tmp_path: Path) -> None:
    path = write(tmp_path, ALIAS_BOMB)
    result = check_sources(path)
    assert result["status"] == 2
    assert result["seconds"] < 5 and result["peak_mb"] < 300, result
    message = result["stderr"].strip().splitlines()
    assert len(message) <= 3 and str(path) in message[0], message
    assert "alias *lol0 is not allowed" in result["stderr"] and "line 2" in result["stderr"]


@pytest.mark.parametrize(("text", "expected"), [
    ("a: &x [1]\nsources:\n  - <<: *x\n", "alias *x is not allowed"),  # merge keys are aliases too
    ("sources:\n" + ENTRY + "    allowed_domains: [" + ", ".join(["a.gov.cn"] * 101) + "]\n",
     "line 6: sources[0] (id 'city-a').allowed_domains: at most 100 entries (got 101)"),
    ("sources:\n" + ENTRY.replace("index.html", "x" * 3000), "start_urls[0]: longer than 2048 characters"),
    ("sources:\n" + ENTRY + "    max_pages: yes\n", "sources[0] (id 'city-a').max_pages: expected integer, got bool"),
    ("sources:\n" + ENTRY + "    notes:\n", None),  # an empty optional key is "not set"
    ("[" * 5000 + "]" * 5000, "nested too deeply"),
])
def test_schema_limits_name_line_entry_and_field(tmp_path: Path, text: str, expected: str | None) -> None:
    path = write(tmp_path, text)
    if expected is None:
        assert [s.id for s in load_sources(path)] == ["city-a"]
        return
    with pytest.raises(SourcesError) as err:
        load_sources(path)
    assert str(err.value).startswith(str(path)) and expected in str(err.value), str(err.value)


def test_oversized_file_is_not_parsed(tmp_path: Path) -> None:
    path = write(tmp_path, "sources:\n" + "# padding\n" * (MAX_REGISTRY_BYTES // 10 + 1))
    with pytest.raises(SourcesError, match="larger than 1024 KB"):
        load_sources(path)


def test_many_problems_make_a_bounded_message(tmp_path: Path) -> None:
    path = write(tmp_path, "sources:\n" + "".join(ENTRY.replace("city-a", f"City{n}") for n in range(200)))
    with pytest.raises(SourcesError) as err:
        load_sources(path)
    lines = str(err.value).splitlines()
    assert len(lines) == 22 and lines[-1].endswith("... and 180 more problems")
