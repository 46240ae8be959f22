"""digest layer of papertide (see README: Layout)."""
