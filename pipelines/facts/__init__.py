"""Project facts (money, officials, places, counts, growth, event dates) and the projects they name."""

from pipelines.facts.extract import FACTS_VERSION, extract_facts
from pipelines.facts.places import resolve_place


def with_facts(article: dict) -> dict:
    """An extracted article (as_dict / a manifest line) with its "facts": what `govbrief extract` prints.
    Lines reporting an error get an empty list."""
    return {**article, "facts": extract_facts(article.get("text"), article.get("published"), article.get("region"),
                                              posted_near=article.get("posted_near"))}


__all__ = ["FACTS_VERSION", "extract_facts", "resolve_place", "with_facts"]
