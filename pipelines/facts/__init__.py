"""Project facts (money, officials, places, counts, growth, event dates) and the projects they name.

The public names load on first use (PEP 562): the schema and storage submodules (pipelines.facts.store)
are imported by every archive migration and by the writer, which must not pay for the extractor's
libraries (cn2an, the place tables) just by naming the package.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipelines.facts.extract import FACTS_VERSION, extract_facts
    from pipelines.facts.places import resolve_place

_LAZY = {"FACTS_VERSION": "pipelines.facts.extract", "extract_facts": "pipelines.facts.extract",
         "resolve_place": "pipelines.facts.places"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def with_facts(article: dict) -> dict:
    """An extracted article (as_dict / a manifest line) with its "facts": what `govbrief extract` prints.
    Lines reporting an error get an empty list."""
    from pipelines.facts.extract import extract_facts

    return {**article, "facts": extract_facts(article.get("text"), article.get("published"), article.get("region"),
                                              posted_near=article.get("posted_near"))}


__all__ = ["FACTS_VERSION", "extract_facts", "resolve_place", "with_facts"]
