"""mail layer of papertide (see README: Layout)."""
