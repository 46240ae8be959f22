"""Reading the papers a filter allows, kept across searches and patched across index commits (issue 13).

The reading half of search/allowed.py's cache: a filter of categories and dates is read from the
database's indexes (database_filter.py), any other from the lexical index, and on a first use
one of dates and categories from the vector snapshot's publication days and categories
(semantic/days.py, semantic/categories.py); a kept answer is brought up to the index's commit by
asking the index about the papers changed since.
"""

from __future__ import annotations

import numpy as np
from sqlalchemy import Engine

from papertide.search.allowed import AllowedCache, Ids, IndexState, apply_changes, patch_limit
from papertide.search.changed_since import ChangedSince
from papertide.search.changes import fetch_changed_ids
from papertide.search.database_filter import (
    DatabaseFilter,
    fetch_filter_ids,
    keep_passing_ids,
    select_stored_categories,
)
from papertide.search.lexical.index import LexicalIndex
from papertide.search.lexical.plan import LexicalPlan
from papertide.search.semantic.days import PublishedDays


def read_allowed_ids(
    cache: AllowedCache,
    lexical: LexicalIndex,
    engine: Engine,
    plan: LexicalPlan,
    listed: DatabaseFilter | None,
    dated: DatabaseFilter | None = None,
    published: PublishedDays | None = None,
    changes: ChangedSince | None = None,
) -> Ids:
    """The sorted ids of the papers passing the plan's filters, kept; ``listed``: the same, read by the database.

    ``dated``: the same when it is dates and categories alone, answered from the snapshot's
    ``published`` days and categories when it keeps what the filter needs (semantic/days.py: no id
    read, the papers changed since asked about one by one; ``changes``: those papers, read once
    per search, search/changed_since.py).
    """
    required = plan.required
    if required is None:
        raise ValueError("the plan has no phrase or filter")
    # Read before the ids: their searcher or database is at least as new (allowed.py, database_filter.py).
    state = IndexState(lexical.generation, lexical.database_id or None, lexical.applied_seq)

    def compute() -> Ids:
        if dated is not None and published is not None:
            found = read_dated_ids(engine, dated, published, changes)
            if found is not None:
                return found
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


def read_dated_ids(
    engine: Engine, dated: DatabaseFilter, published: PublishedDays, changes: ChangedSince | None = None
) -> Ids | None:
    """The sorted ids of the papers passing filter ``dated`` now: ``published``'s days and categories, patched.

    A category term matches the stored names the database's filter matches (database_filter.py).
    The papers changed since the days were read (seq above theirs) are taken out and put back if
    they pass now, as the database has them; None when more changed than ``CHANGED_LIMIT``, or
    for categories when the snapshot keeps none. ``changes``: the search's list of those papers
    (search/changed_since.py); None reads it here.
    """
    names: set[str] | None = None
    if dated.categories:
        if published.categories is None:
            return None
        names = set(select_stored_categories(published.categories.names, dated.categories))
    changed = (changes or ChangedSince(engine, published)).ids()
    if changed is None:
        return None
    passing = published.passing(dated.since, dated.until, names)
    found = published.ids_at(passing)
    if len(changed):
        with engine.connect() as conn:
            now_passing = keep_passing_ids(conn, dated, changed)
        found = apply_changes(found, changed, now_passing)
        passing = published.patched(passing, changed, now_passing)
    # The vector snapshot packs the mask into its bitmap instead of looking up each id's row (semantic/selections.py).
    published.selections.remember(found, passing)
    return found
