"""Storage: the archive.db schema and every write to it (sqlite-utils)."""
