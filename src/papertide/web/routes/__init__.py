"""routes layer of papertide (see README: Layout)."""
