"""store layer of papertide (see README: Layout)."""
