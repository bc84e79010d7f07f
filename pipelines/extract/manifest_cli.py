"""`python -m pipelines.extract.manifest_cli MANIFEST.jsonl`: one JSON line per page, for score_extract.py --cmd
until (and beside) `govbrief extract --manifest`. Relative page paths resolve against the manifest."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from pipelines.extract.article import extract_manifest
from pipelines.facts.reposts import with_facts_of_copies


def load_manifest(path: str | Path) -> list[dict]:
    path = Path(path)
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            row["page"] = str((path.parent / row["page"]).resolve())
            rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    for out in with_facts_of_copies(list(extract_manifest(load_manifest(args[0])))):
        sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
