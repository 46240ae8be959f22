"""ingest layer of papertide (see README: Layout)."""
