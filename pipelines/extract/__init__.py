"""Extraction: a capture's bytes → a cleaned article (decode, DOM cleaning, spam rules, metadata). Pure functions."""
