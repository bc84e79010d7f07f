"""Processing: captures already stored → articles in the archive (extraction + storage)."""
