"""web layer of papertide (see README: Layout)."""
