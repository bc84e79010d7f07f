"""Lineage: near-duplicate (repost) clusters across sources and their canonical member."""
