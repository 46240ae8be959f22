"""domain layer of papertide (see README: Layout)."""
