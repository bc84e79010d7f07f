"""The sources registry (sources.yml): data, validated before anything is crawled or written.

A malformed registry is rejected as a whole with a message naming the file, the line, the entry and
the field, so a typo never half-runs a crawl. `SourcesError` carries every problem found (up to
MAX_PROBLEMS), not just the first.

Hostile or broken input costs little: the file is read up to MAX_REGISTRY_BYTES; YAML aliases
(``*name``, also ``<<: *name``) are refused by the loader itself - an alias bomb (a few lines that
``yaml.safe_load`` expands into billions of nodes) fails at its first alias; the structure is
checked against a JSON Schema (crawler/sources.schema.json) that bounds list lengths and string and
URL sizes. JSON Schema rather than pydantic: the schema is a data file next to the registry format
(editors can validate sources.yml with it), errors carry the path into the document, which maps
onto YAML line numbers, and the Source dataclass the spider uses stays as it is.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import yaml

_DOMAIN = re.compile(r"^[a-z0-9.-]+(:\d+)?$")

SCHEMA_PATH = Path(__file__).with_name("sources.schema.json")
# 2,000 sources at ~300 bytes each fit in a third of this.
MAX_REGISTRY_BYTES = 1024 * 1024
MAX_PROBLEMS = 20  # listed in one message; the rest are counted

# Field order for messages ("known: ...").
_FIELDS = ("id", "name", "region", "start_urls", "allowed_domains", "article_url_pattern", "list_url_pattern",
           "sitemap_urls", "feed_urls", "max_pages", "max_depth", "max_articles", "enabled", "notes", "source_type")


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
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        problems.append(f"{where}: not an absolute http(s) URL: {value!r}")


class _RegistryLoader(yaml.SafeLoader):
    """SafeLoader that refuses aliases: a registry has no use for them, and an alias bomb expands
    into billions of nodes inside yaml.safe_load before any validation could look at it."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(None, None, f"YAML alias *{event.anchor} is not allowed in a sources "
                                              "registry (write the value out)", event.start_mark)
        return super().compose_node(parent, index)


def _node_at(root: Any, path: list[Any]) -> Any:
    """The deepest YAML node on a path of keys and indexes (for its line number)."""
    node = root
    for step in path:
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if k.value == step), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
            child = node.value[step]
        else:
            child = None
        if child is None:
            break
        node = child
    return node


def _where(root: Any, path: list[Any], data: Any) -> str:
    """'line N: sources[i] (id 'x').field[j]' for a path into the document."""
    text = ""
    if len(path) >= 2 and path[0] == "sources" and isinstance(path[1], int):
        text = f"sources[{path[1]}]"
        entry = data["sources"][path[1]]
        if isinstance(entry, dict) and isinstance(entry.get("id"), str):
            text += f" (id {entry['id']!r})"
        for step in path[2:]:
            text += f"[{step}]" if isinstance(step, int) else f".{step}"
    else:
        text = ".".join(str(p) for p in path) or "top level"
    if root is not None:
        text = f"line {_node_at(root, path).start_mark.line + 1}: {text}"
    return text


def _schema_problem(error: jsonschema.ValidationError) -> tuple[list[Any], str]:
    """(path, message) for one schema violation, in the registry's words."""
    path, value, rule = list(error.absolute_path), error.instance, error.validator_value
    kind = error.validator
    if kind == "required":
        missing = [name for name in rule if name not in value]
        return path + missing[:1], "required field is missing"
    if kind == "additionalProperties":
        unknown = [key for key in value if key not in _FIELDS]
        return path + unknown[:1], f"unknown field (known: {', '.join(_FIELDS)})"
    if kind == "type":
        return path, f"expected {rule}, got {type(value).__name__}"
    if kind == "pattern" and path[-1:] == ["id"]:
        return path, f"must match [a-z0-9-]+, got {value!r}"
    if kind == "minimum":
        return path, f"must be at least {rule}"
    if kind == "maximum":
        return path, f"must be at most {rule}"
    if kind == "maxItems":
        return path, f"at most {rule} entries (got {len(value)})"
    if kind == "minItems":
        return path, "needs at least one entry" if rule == 1 else f"needs at least {rule} entries"
    if kind == "maxLength":
        return path, f"longer than {rule} characters ({len(value)})"
    if kind == "minLength":
        return path, "must not be empty"
    return path, error.message[:200]


_validator: jsonschema.protocols.Validator | None = None


def _schema_validator() -> jsonschema.protocols.Validator:
    global _validator
    if _validator is None:
        schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
        _validator = jsonschema.Draft202012Validator(schema)
    return _validator


def parse_sources(data: Any, path: str = "<sources>", root: Any = None) -> list[Source]:
    """Validate a loaded registry (root: its YAML node tree, for line numbers) into Sources."""
    if not isinstance(data, dict) or "sources" not in data:
        raise SourcesError(path, ["top level: expected a mapping with a 'sources' list"])
    entries = data["sources"]
    if not isinstance(entries, list) or not entries:
        raise SourcesError(path, ["sources: expected a non-empty list of entries"])
    limit = _schema_validator().schema["properties"]["sources"]["maxItems"]
    if len(entries) > limit:
        raise SourcesError(path, [f"sources: at most {limit} entries (got {len(entries)})"])
    # an optional key left empty (`notes:`) means "not set"
    data = {**data, "sources": [{k: v for k, v in e.items() if v is not None} if isinstance(e, dict) else e
                                for e in entries]}
    entries = data["sources"]
    problems: list[str] = []
    invalid: set[int] = set()
    for error in sorted(_schema_validator().iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path]):
        where, message = _schema_problem(error)
        if len(where) >= 2 and isinstance(where[1], int):
            invalid.add(where[1])
        problems.append(f"{_where(root, where, data)}: {message}")
    sources: list[Source] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        if index in invalid:
            continue
        before = len(problems)

        def label(*steps: Any, index: int = index) -> str:
            return _where(root, ["sources", index, *steps], data)

        if entry["id"] in seen:
            problems.append(f"{label('id')}: duplicate id {entry['id']!r}")
        seen.add(entry["id"])
        for key in ("start_urls", "sitemap_urls", "feed_urls"):
            for i, url in enumerate(entry.get(key) or []):
                _check_url(url, label(key, i), problems)
        for i, domain in enumerate(entry.get("allowed_domains") or []):
            if not _DOMAIN.match(domain.lower()):
                problems.append(f"{label('allowed_domains', i)}: not a domain name: {domain!r}")
        for key in ("article_url_pattern", "list_url_pattern"):
            if entry.get(key):
                try:
                    re.compile(entry[key])
                except re.error as exc:
                    problems.append(f"{label(key)}: invalid regular expression: {exc}")
        if len(problems) == before:
            sources.append(Source(**entry))
    if problems:
        if len(problems) > MAX_PROBLEMS:
            problems = problems[:MAX_PROBLEMS] + [f"... and {len(problems) - MAX_PROBLEMS} more problems"]
        raise SourcesError(path, problems)
    return sources


def _read_limited(path: Path) -> str:
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_REGISTRY_BYTES + 1)
    except FileNotFoundError:
        raise SourcesError(str(path), ["file not found"]) from None
    except OSError as exc:
        raise SourcesError(str(path), [f"cannot read: {exc}"]) from None
    if len(raw) > MAX_REGISTRY_BYTES:
        raise SourcesError(str(path), [f"larger than {MAX_REGISTRY_BYTES // 1024} KB: not a sources registry "
                                       "(split it, or check what wrote it)"])
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SourcesError(str(path), [f"cannot read: not UTF-8 text ({exc.reason} at byte {exc.start})"]) from None


def load_sources(path: str | Path) -> list[Source]:
    """Read and validate a registry file; raises SourcesError naming the file, line, entry and field."""
    path = Path(path)
    text = _read_limited(path)
    loader = None
    try:
        loader = _RegistryLoader(text)
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "YAML"
        raise SourcesError(str(path), [f"{where}: {getattr(exc, 'problem', None) or exc}"]) from None
    except RecursionError:
        raise SourcesError(str(path), ["YAML nested too deeply to be a sources registry"]) from None
    finally:
        if loader is not None:
            loader.dispose()
    return [s for s in parse_sources(data, str(path), root) if s.enabled]
