"""Collectors: read Azure (read-only) and produce a `Snapshot`. They never evaluate."""
