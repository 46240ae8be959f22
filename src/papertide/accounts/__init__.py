"""accounts layer of papertide (see README: Layout): what readers do with their account, apart from the pages."""
