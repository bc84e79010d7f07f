"""Re-checking known articles: schedule, edits as versions, deletions, soft 404s."""
