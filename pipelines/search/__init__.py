"""Chinese full-text search: the substring index over folded text and its queries."""
