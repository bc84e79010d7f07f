"""The sources registry (sources.yml): data, validated before anything is crawled or written.

A malformed registry is rejected as a whole with a message naming the entry and the field, so a
typo never half-runs a crawl. `SourcesError` carries every problem found, not just the first.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from pipelines.urls import SOURCE_TYPES

_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_DOMAIN = re.compile(r"^[a-z0-9.-]+(:\d+)?$")

# key -> (type, required). Unknown keys are errors: a misspelt optional key would otherwise be
# silently ignored and the source crawled without the setting its author meant.
_FIELDS: dict[str, tuple[type | tuple[type, ...], bool]] = {
    "id": (str, True),
    "name": (str, True),
    "region": (str, True),
    "start_urls": (list, True),
    "allowed_domains": (list, False),
    "article_url_pattern": (str, False),
    "list_url_pattern": (str, False),
    "sitemap_urls": (list, False),
    "feed_urls": (list, False),
    "max_pages": (int, False),
    "max_depth": (int, False),
    "max_articles": (int, False),
    "enabled": (bool, False),
    "notes": (str, False),
    # gov (a government body's own site), media (news organisations) or repost (portals, aggregators
    # and content farms that republish); default inferred from the URLs (pipelines.urls.infer_source_type)
    "source_type": (str, False),
}


class SourcesError(ValueError):
    """The registry is unusable; `problems` lists each one as 'where: what'."""

    def __init__(self, path: str, problems: list[str]):
        self.path = path
        self.problems = problems
        super().__init__(f"{path}: invalid sources registry:\n" + "\n".join(f"  - {p}" for p in problems))


@dataclass
class Source:
    id: str
    name: str
    region: str
    start_urls: list[str]
    allowed_domains: list[str] = field(default_factory=list)
    article_url_pattern: str | None = None
    list_url_pattern: str | None = None
    sitemap_urls: list[str] = field(default_factory=list)
    feed_urls: list[str] = field(default_factory=list)
    max_pages: int = 200  # list pages per source and run: bounds pagination and link traps
    max_depth: int = 4  # list-page hops from a start URL
    # article requests per source and run: a list linking 10,000 articles is worked off over several
    # runs instead of making one run endless (the rest is found again by the next run's lists)
    max_articles: int = 1000
    enabled: bool = True
    notes: str | None = None
    source_type: str | None = None  # None: inferred from the URLs when stored

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def origins(self) -> set[str]:
        """host[:port] of every configured URL: the crawl never leaves these (plus allowed_domains)."""
        urls = [*self.start_urls, *self.sitemap_urls, *self.feed_urls]
        return {urlsplit(u).netloc.lower() for u in urls}


def _check_url(value: Any, where: str, problems: list[str]) -> None:
    if not isinstance(value, str):
        problems.append(f"{where}: expected a URL string, got {type(value).__name__}")
        return
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        problems.append(f"{where}: not an absolute http(s) URL: {value!r}")


def _entry_lines(text: str) -> list[int]:
    """1-based line of each entry under `sources:`, so messages can point into the file."""
    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return []
    if not isinstance(root, yaml.MappingNode):
        return []
    for key, value in root.value:
        if key.value == "sources" and isinstance(value, yaml.SequenceNode):
            return [item.start_mark.line + 1 for item in value.value]
    return []


def parse_sources(data: Any, path: str = "<sources>", lines: list[int] | None = None) -> list[Source]:
    problems: list[str] = []
    if not isinstance(data, dict) or "sources" not in data:
        raise SourcesError(path, ["top level: expected a mapping with a 'sources' list"])
    entries = data["sources"]
    if not isinstance(entries, list) or not entries:
        raise SourcesError(path, ["sources: expected a non-empty list of entries"])
    sources: list[Source] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        label = f"sources[{index}]"
        if lines and index < len(lines):
            label = f"line {lines[index]}: {label}"
        if isinstance(entry, dict) and isinstance(entry.get("id"), str):
            label += f" (id {entry['id']!r})"
        if not isinstance(entry, dict):
            problems.append(f"{label}: expected a mapping, got {type(entry).__name__}")
            continue
        before = len(problems)
        for key in entry:
            if key not in _FIELDS:
                problems.append(f"{label}.{key}: unknown field (known: {', '.join(_FIELDS)})")
        for key, (kind, required) in _FIELDS.items():
            if key not in entry or entry[key] is None:
                if required:
                    problems.append(f"{label}.{key}: required field is missing")
                continue
            value = entry[key]
            if (kind is int and isinstance(value, bool)) or not isinstance(value, kind):
                problems.append(f"{label}.{key}: expected {kind.__name__}, got {type(value).__name__}")
        if len(problems) > before:
            continue
        if not _ID.match(entry["id"]):
            problems.append(f"{label}.id: must match [a-z0-9-]+, got {entry['id']!r}")
        elif entry["id"] in seen:
            problems.append(f"{label}.id: duplicate id {entry['id']!r}")
        seen.add(entry["id"])
        if not entry["start_urls"]:
            problems.append(f"{label}.start_urls: needs at least one URL")
        for key in ("start_urls", "sitemap_urls", "feed_urls"):
            for i, url in enumerate(entry.get(key) or []):
                _check_url(url, f"{label}.{key}[{i}]", problems)
        for i, domain in enumerate(entry.get("allowed_domains") or []):
            if not isinstance(domain, str) or not _DOMAIN.match(domain.lower()):
                problems.append(f"{label}.allowed_domains[{i}]: not a domain name: {domain!r}")
        for key in ("article_url_pattern", "list_url_pattern"):
            if entry.get(key):
                try:
                    re.compile(entry[key])
                except re.error as exc:
                    problems.append(f"{label}.{key}: invalid regular expression: {exc}")
        if entry.get("source_type") is not None and entry["source_type"] not in SOURCE_TYPES:
            problems.append(f"{label}.source_type: must be one of {', '.join(SOURCE_TYPES)}, "
                            f"got {entry['source_type']!r}")
        for key in ("max_pages", "max_depth", "max_articles"):
            if key in entry and entry[key] is not None and entry[key] < 1:
                problems.append(f"{label}.{key}: must be at least 1")
        if len(problems) == before:
            sources.append(Source(**{k: v for k, v in entry.items() if v is not None}))
    if problems:
        raise SourcesError(path, problems)
    return sources


def load_sources(path: str | Path) -> list[Source]:
    """Read and validate a registry file; raises SourcesError naming the file, entry and field."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SourcesError(str(path), ["file not found"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SourcesError(str(path), [f"cannot read: {exc}"]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "YAML"
        raise SourcesError(str(path), [f"{where}: {getattr(exc, 'problem', None) or exc}"]) from None
    return [s for s in parse_sources(data, str(path), _entry_lines(text)) if s.enabled]
