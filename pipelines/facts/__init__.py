"""Project facts (money, officials, places, counts, growth, event dates) and the projects they name."""

from pipelines.facts.extract import FACTS_VERSION, extract_facts
from pipelines.facts.places import resolve_place

__all__ = ["FACTS_VERSION", "extract_facts", "resolve_place"]
