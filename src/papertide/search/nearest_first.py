"""A broad filter's semantic side: the nearest papers first, the filter checked on them only (issue 13).

A filtered semantic search restricts the vector index to the papers the filter allows
(search/allowed.py). For a broad filter that set is most of the corpus: cat:cs.LG passes 587,000
of a million papers, and reading their ids and packing them into the index's bitmap cost 80-110
ms on first use, seven times a whole hybrid search. Yet when most papers pass, most nearest
neighbours pass too: reading the ``k / share`` nearest papers unfiltered (a graph walk hardly
dearer than the filtered one) and asking the database which of them pass finds the same top
``k``, without the allowed set, in a few milliseconds, first use or not.

Whether a filter is broad is estimated before anything is read, from counts the lexical index
keeps: the document frequency of each category term, and of a sample of the days in a date range
(the index files ``published`` as one term per day). Filters are taken as independent (cat:cs.LG
since:2024 is about the product of the two shares). The estimate only chooses a method: when fewer
than ``k`` of the neighbours pass (a narrower filter than estimated, or one the query's meaning
avoids), the caller reads the allowed set as before, so results never depend on the estimate.
Only filters whose check costs less than their read qualify (semantic/filtered.py
``choose_nearest_first``: from about a fifth of the papers at a million). The check is paid by
every search, the read once: a filter in steady use is cheapest with its ids kept (the vector
index restricted to them, as the issue asks). So a broad filter goes nearest first only until its
checks have cost about what one read costs (``uses_before_reading``: 7 searches for cat:cs.LG at a
million papers); the next search reads the ids and keeps them (search/allowed.py ``rent``).
A filter with dates that the vector snapshot answers (semantic/days.py, semantic/categories.py)
does not come here: its first use selects its papers from the snapshot, cheaper than nearest
first (search/filtered_side.py). One it does not take (categories alone, the broad ones) has its
nearest papers checked against the snapshot's days and categories instead of the database
(``keep_in_snapshot``: cat:cs.LG's check 5.5 -> 2.4 ms CPU at a million, docs/search.md), the
papers changed since the snapshot asked of the database so the answer stays its own. Phrases and
authors are not estimated (their filters are narrow in practice, and reading them is cheap then):
they always take the allowed set.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import tantivy
from sqlalchemy import Engine

from papertide.domain.query import SearchQuery
from papertide.search.allowed import apply_changes
from papertide.search.changed_since import ChangedSince
from papertide.search.database_filter import (
    DatabaseFilter,
    compose_checked_filter,
    keep_passing_ids,
    select_stored_categories,
)
from papertide.search.lexical.analyzer import FIELD_CATEGORY, FIELD_PUBLISHED
from papertide.search.lexical.index import LexicalIndex
from papertide.search.ranked import Ranked
from papertide.search.semantic.days import PublishedDays
from papertide.search.semantic.filtered import choose_nearest_first, uses_before_reading
from papertide.store.filtered_ids import Ids, fetch_published_span

# The nearest ``k * FIRST_CHECK / share`` are checked first, the rest of those read only when too few
# of them pass: the check, not the walk, is what nearest first adds to a search (docs/search.md).
FIRST_CHECK = 1.1
# Days of a date range whose document frequency is read to estimate its share (about 2 µs each).
DAY_SAMPLES = 256
# A filter's share of the papers is estimated from this many of the snapshot's (standard error under 1.6 %).
SHARE_SAMPLES = 1024


@dataclass(frozen=True, slots=True)
class NearestFirst:
    """How a broad filter is searched: ``read`` neighbours unfiltered, for a filter allowing about ``share``."""

    checked: DatabaseFilter
    share: float
    read: int
    # How many of the nearest are checked first.
    first: int
    # How many searches of the filter go nearest first before its ids are read and kept.
    uses: float

    def describe(self, required: str) -> str:
        """For explain lines."""
        return f"about {self.share:.0%} of papers allowed by {required}, checked on the {self.read:,} nearest"


def estimate_day_share(
    searcher: tantivy.Searcher,
    since: dt.date | None,
    until: dt.date | None,
    span: tuple[dt.date | None, dt.date | None],
    papers: int,
) -> float:
    """The share of ``papers`` published in range, from the index's counts of up to DAY_SAMPLES days in it."""
    earliest, latest = span
    if earliest is None or latest is None or papers <= 0:
        return 0.0
    low = max(since or earliest, earliest).toordinal()
    high = min(until or latest, latest).toordinal()
    if high < low:
        return 0.0
    days = high - low + 1
    stride = max(1, math.ceil(days / DAY_SAMPLES))
    if stride % 7 == 0:
        stride += 1  # never the same weekday each time: papers are not published evenly over a week
    sampled = range(low, high + 1, stride)
    found = sum(searcher.doc_freq(FIELD_PUBLISHED, day) for day in sampled)
    return min(1.0, found * days / len(sampled) / papers)


def estimate_share(
    searcher: tantivy.Searcher,
    checked: DatabaseFilter,
    papers: int,
    span: Callable[[], tuple[dt.date | None, dt.date | None]],
) -> float:
    """About which share of ``papers`` pass ``checked``: category terms' frequencies times the dates' share."""
    if papers <= 0:
        return 0.0
    share = 1.0
    if checked.categories:
        # A paper in two of the categories counts twice: an upper bound, as an estimate should err broad
        # only where checking the nearest papers then finds out (and the allowed set is read after all).
        share = min(1.0, sum(searcher.doc_freq(FIELD_CATEGORY, term) for term in checked.categories) / papers)
    if share > 0 and (checked.since is not None or checked.until is not None):
        share *= estimate_day_share(searcher, checked.since, checked.until, span(), papers)
    return share


def estimate_snapshot_share(
    searcher: tantivy.Searcher, published: PublishedDays, checked: DatabaseFilter, papers: int
) -> float:
    """About which share of the papers pass ``checked``: its categories' as nearest first estimates it (the index's
    term counts), times its dates' among every n-th of the snapshot's papers (``SHARE_SAMPLES``).

    Nearest first's estimate of dates samples 256 days' counts and asks the database for the
    publication span: 1.3 ms CPU at a million papers, paid by every first use of a date filter,
    broad or not; every n-th day of the snapshot 0.05 ms (categories there: 0.5-0.75 for 4,096).
    """
    categories = dataclasses.replace(checked, since=None, until=None)
    share = estimate_share(searcher, categories, papers, lambda: (None, None)) if checked.categories else 1.0
    ids = np.asarray(published.ids)
    if share <= 0 or (checked.since is None and checked.until is None) or not len(ids):
        return share
    sample = np.ascontiguousarray(ids[:: max(1, len(ids) // SHARE_SAMPLES)])
    return share * len(published.keep(sample, checked.since, checked.until)) / len(sample)


def plan_nearest_first(
    query: SearchQuery,
    searcher: tantivy.Searcher,
    papers: int,
    engine: Engine,
    k: int,
    candidate_limit: int,
) -> NearestFirst | None:
    """How to search ``query``'s filter nearest first for ``k`` neighbours; None: read its allowed set instead.

    Only filters allowing more than ``candidate_limit`` papers qualify: for those the semantic side
    reads ``k`` neighbours and says its count may be incomplete either way (search/query.py).
    """
    checked = compose_checked_filter(query)
    if checked is None:
        return None

    def span() -> tuple[dt.date | None, dt.date | None]:
        with engine.connect() as conn:
            return fetch_published_span(conn)

    share = estimate_share(searcher, checked, papers, span)
    if share * papers <= candidate_limit:
        return None
    read = choose_nearest_first(share, k, papers)
    if read is None:
        return None
    first = min(read, math.ceil(k * FIRST_CHECK / min(share, 1.0)))
    return NearestFirst(checked, share, read, first, uses_before_reading(share, read, papers))


def rank_nearest_first(
    rank: Callable[[int], Ranked], keep: Callable[[Ids], Ids], k: int, read: int, first: int | None = None
) -> Ranked | None:
    """The best ``k`` of the ``read`` nearest papers that ``keep`` lets through; None when fewer pass.

    :param rank: the nearest papers, unfiltered, best first.
    :param keep: those of the given sorted ids passing the filter.
    :param first: how many of the nearest to check before the others (None: all at once); the
        others are checked only when fewer than ``k`` of those pass.
    When the index holds fewer than ``read`` papers, all were read: the passing ones are the answer
    however few.
    """
    nearest = rank(read)
    ids = nearest.ids
    passing = np.zeros(len(ids), dtype=bool)
    start = 0
    for stop in dict.fromkeys((min(first or len(ids), len(ids)), len(ids))):
        part = ids[start:stop]
        passing[start:stop] = np.isin(part, keep(np.sort(part)))
        start = stop
        if np.count_nonzero(passing) >= k:
            break
    found = nearest.where(passing)
    if len(found) >= k:
        return found.head(k)
    return found if len(nearest) < read else None


def keep_in_database(engine: Engine, checked: DatabaseFilter) -> Callable[[Ids], Ids]:
    """``keep`` for rank_nearest_first: the database answers for the given papers."""

    def keep(paper_ids: Ids) -> Ids:
        with engine.connect() as conn:
            return keep_passing_ids(conn, checked, paper_ids)

    return keep


def keep_in_snapshot(
    engine: Engine, checked: DatabaseFilter, published: PublishedDays, changes: ChangedSince | None = None
) -> Callable[[Ids], Ids]:
    """``keep`` for rank_nearest_first: the snapshot's days and categories answer, patched to the database's now.

    The given papers are looked up in ``published`` (semantic/days.py ``keep``); those changed
    since its seq are asked of the database, as read_dated_ids does for a whole filter, so the
    answer is exactly the database's. The changed ids are read once per search (``changes``,
    search/changed_since.py, shared with the search's other side; None: read here on the first
    call); more than ``CHANGED_LIMIT`` of them: the database answers for the given papers instead.
    """
    since = changes or ChangedSince(engine, published)
    names: set[str] | None = None
    if checked.categories:
        if published.categories is None:
            raise ValueError("this snapshot keeps no categories")
        names = set(select_stored_categories(published.categories.names, checked.categories))

    def keep(paper_ids: Ids) -> Ids:
        recent = since.ids()
        if recent is None:
            with engine.connect() as conn:
                return keep_passing_ids(conn, checked, paper_ids)
        asked = recent[np.isin(recent, paper_ids)] if len(recent) else recent
        if len(asked):
            with engine.connect() as conn:
                passing = keep_passing_ids(conn, checked, asked)
        else:
            passing = asked
        return apply_changes(published.keep(paper_ids, checked.since, checked.until, names), asked, passing)

    return keep


def choose_keep(
    engine: Engine, checked: DatabaseFilter, published: PublishedDays | None, changes: ChangedSince | None = None
) -> Callable[[Ids], Ids]:
    """The snapshot's check when it keeps what ``checked`` needs (days, and categories if any), else the database's."""
    if published is not None and (not checked.categories or published.categories is not None):
        return keep_in_snapshot(engine, checked, published, changes)
    return keep_in_database(engine, checked)


def rank_broad_filter(
    rank: Callable[[int], Ranked],
    query: SearchQuery,
    described: str,
    lexical: LexicalIndex,
    engine: Engine,
    k: int,
    candidate_limit: int,
    rent: Callable[[float], bool],
    published: PublishedDays | None = None,
    changes: ChangedSince | None = None,
) -> tuple[Ranked, str] | None:
    """A broad filter's best ``k`` neighbours nearest first, and how they were found; None: read its allowed ids.

    :param rank: the nearest papers to the query, unfiltered, best first.
    :param described: the filter as explain lines name it.
    :param rent: given how many searches may go nearest first, counts this one; False: read the ids now.
    :param published: the vector snapshot's days and categories: the neighbours are checked there
        when it keeps what the filter needs (``choose_keep``), else in the database; ``changes``:
        the papers changed since it, read once per search (search/changed_since.py).
    """
    plan = plan_nearest_first(query, lexical.searcher(), lexical.paper_count, engine, k, candidate_limit)
    if plan is None or not rent(plan.uses):
        return None
    found = rank_nearest_first(rank, choose_keep(engine, plan.checked, published, changes), k, plan.read, plan.first)
    return None if found is None else (found, plan.describe(described))
