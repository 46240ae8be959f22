"""Reading the papers a filter allows, kept across searches and patched across index commits (issue 13).

The reading half of search/allowed.py's cache: a filter of categories and dates is read from the
database's indexes (database_filter.py), any other from the lexical index; a kept answer is
brought up to the index's commit by asking the index about the papers changed since.
"""

from __future__ import annotations

import numpy as np
from sqlalchemy import Engine

from papertide.search.allowed import AllowedCache, Ids, IndexState, apply_changes, patch_limit
from papertide.search.changes import fetch_changed_ids
from papertide.search.database_filter import DatabaseFilter, fetch_filter_ids
from papertide.search.lexical.index import LexicalIndex
from papertide.search.lexical.plan import LexicalPlan


def read_allowed_ids(
    cache: AllowedCache, lexical: LexicalIndex, engine: Engine, plan: LexicalPlan, listed: DatabaseFilter | None
) -> Ids:
    """The sorted ids of the papers passing the plan's filters, kept; ``listed``: the same, read by the database."""
    required = plan.required
    if required is None:
        raise ValueError("the plan has no phrase or filter")
    # Read before the ids: their searcher or database is at least as new (allowed.py, database_filter.py).
    state = IndexState(lexical.generation, lexical.database_id or None, lexical.applied_seq)

    def compute() -> Ids:
        if listed is not None:
            with engine.connect() as conn:
                return fetch_filter_ids(conn, listed)
        return lexical.matching_ids(required, lexical.count(required))

    def patch(kept: Ids, since: int) -> Ids | None:
        limit = patch_limit(len(kept))
        with engine.connect() as conn:
            changed = fetch_changed_ids(conn, since, limit + 1)
        if len(changed) > limit:
            return None
        passing = lexical.keep_matching(required, changed)
        return apply_changes(kept, np.array(changed, dtype=np.int64), np.fromiter(passing, dtype=np.int64))

    return cache.fetch(plan.required_key, state, compute, patch)
