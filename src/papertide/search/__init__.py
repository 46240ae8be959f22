"""search layer of papertide (see README: Layout)."""
