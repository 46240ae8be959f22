"""A filtered hybrid or semantic search's meaning side: how the filter's neighbours are found (issue 13).

A broad filter's first uses go nearest first (search/nearest_first.py: the nearest papers read
unfiltered and the filter checked on them only), unless it has dates and the vector snapshot
answers it (semantic/days.py, semantic/categories.py); otherwise the vector index is restricted to the
filter's allowed ids, kept across searches (search/allowed_ids.py). Split from search/query.py,
which calls it from the request's thread; nothing here reads settings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from sqlalchemy import Engine

from papertide.domain.query import SearchQuery
from papertide.search.allowed import AllowedCache
from papertide.search.allowed_ids import read_allowed_ids
from papertide.search.changed_since import ChangedSince
from papertide.search.database_filter import DatabaseFilter, compose_checked_filter
from papertide.search.lexical.index import LexicalIndex
from papertide.search.lexical.plan import LexicalPlan
from papertide.search.nearest_first import estimate_snapshot_share, rank_broad_filter
from papertide.search.ranked import Ranked
from papertide.search.request import SemanticRanker
from papertide.search.semantic.days import PublishedDays
from papertide.search.semantic.filtered import choose_nearest_first

# Below this estimated share of the papers, a category filter's first use reads its ids from the
# database rather than selecting them from the snapshot (``_reads_database``; measured at a million):
# through the snapshot's category codes, and through its packed bit sets (semantic/categories.py).
SNAPSHOT_SHARE = 0.04
BITS_SNAPSHOT_SHARE = 0.004
# Runs a semantic call, turning a model or index failure into SearchUnavailable (query.py ``_guarded``).
Guard = Callable[[Callable[[], Ranked]], Ranked]


@runtime_checkable
class DatedRanker(Protocol):
    """A semantic side that keeps every paper's publication day beside its snapshot (semantic/days.py)."""

    def published_days(self) -> PublishedDays | None:
        """The days, or None when its snapshot has none."""
        ...


@dataclass(frozen=True, slots=True)
class FilterSources:
    """What a filtered meaning side reads besides the vector index: one per SearchService."""

    cache: AllowedCache
    lexical: LexicalIndex
    engine: Engine
    # At most this many allowed papers: their neighbours are read down to ``wanted``, else ``depth``.
    candidate_limit: int


def rank_filtered(
    semantic: SemanticRanker,
    query: SearchQuery,
    plan: LexicalPlan,
    listed: DatabaseFilter | None,
    depth: int,
    wanted: int,
    sources: FilterSources,
    guarded: Guard,
    changes: ChangedSince | None = None,
) -> tuple[Ranked, str, bool]:
    """A filter's neighbours, how they were found, whether all were read: a broad one's nearest first if it can.

    ``wanted`` neighbours are read when at most ``sources.candidate_limit`` papers pass, else ``depth``.
    A filter of dates and categories is read from the snapshot's days and categories when it keeps
    them (semantic/days.py, semantic/categories.py); with dates, never nearest first (``_selects_days``).
    ``changes``: the days the caller read for this search (its word side checks its hits there too)
    and the papers changed since them, read once for both sides (search/changed_since.py).
    """
    cache, lexical, engine, candidate_limit = sources.cache, sources.lexical, sources.engine, sources.candidate_limit
    key = plan.required_key
    # Not restricted to given papers (only the index knows those; ``key`` None), nor read already.
    first_use = key is not None and not cache.holds(key)
    # Only for a first use: a kept filter needs no days.
    snapshot = changes.published if changes is not None else None
    if first_use and snapshot is None and isinstance(semantic, DatedRanker):
        snapshot = semantic.published_days()
    published = snapshot if first_use else None
    dated = compose_snapshot_filter(query, published)
    narrow = (
        dated is not None
        and published is not None
        and listed is not None
        and _reads_database(dated, lexical, published, depth, _snapshot_share(published))
    )
    if narrow:
        dated = None  # its ids read from the database's index (``listed``), cheaper than the snapshot's pass
    if first_use and key is not None and not narrow and not _selects_days(dated):  # (key: for the type checker)

        def rank(read: int) -> Ranked:
            return guarded(lambda: semantic.rank(query.text, read))

        def rent(uses: float) -> bool:
            return cache.rent(key, uses)

        described = plan.required_description
        found = rank_broad_filter(
            rank, query, described, lexical, engine, depth, candidate_limit, rent, published, changes
        )
        if found is not None:
            return found[0], found[1], len(found[0]) < depth
    allowed = read_allowed_ids(cache, lexical, engine, plan, listed, dated, published, changes)
    pool = len(allowed)
    limit = wanted if pool <= candidate_limit else depth
    hits = guarded(lambda: semantic.rank(query.text, limit, candidates=allowed)) if pool else Ranked.empty()
    return hits, f"the {pool} allowed by {plan.required_description}", len(hits) < limit


def compose_snapshot_filter(query: SearchQuery, published: PublishedDays | None) -> DatabaseFilter | None:
    """The query's filter when the snapshot's ``published`` days and categories answer it; else None.

    Dates and categories alone (no phrase, no author), and categories only when the snapshot keeps
    them (semantic/categories.py; one written before them answers dates alone).
    """
    if published is None:
        return None
    checked = compose_checked_filter(query)
    if checked is None or (checked.categories and published.categories is None):
        return None
    return checked


def _snapshot_share(published: PublishedDays | None) -> float:
    """The share below which a category filter is read from the database: lower where the snapshot keeps bits."""
    if published is not None and published.categories is not None and published.categories.bits is not None:
        return BITS_SNAPSHOT_SHARE
    return SNAPSHOT_SHARE


def _reads_database(
    dated: DatabaseFilter, lexical: LexicalIndex, published: PublishedDays, k: int, below: float
) -> bool:
    """Whether a category filter the snapshot answers is read from the database's index instead, being narrow.

    Selecting from the snapshot passes over every paper's category codes (and days) whatever the
    filter: 9 to 12 ms CPU at a million papers within searches, 12 to 20 alone. The database reads
    only the filter's papers, 0.3 to 0.45 µs each (docs/search.md, "Nearest papers checked in the
    snapshot"): cheaper below 3 to 6 % of the papers, ``SNAPSHOT_SHARE`` (cat:cs.RO
    since:2020-01-01, 1.2 %: 5.0 ms against 20.2 alone, 3.8-5.4 against 9.1-10.2 in searches).
    Both grow with the corpus, so the share where they meet does not. The share is estimated as
    the word side estimates it (search/nearest_first.py ``estimate_snapshot_share``: the dates'
    share among sampled snapshot papers, where the days' counts in the index also needed the
    publication span, a database round trip per first use); a filter nearest first would take
    (only at many millions of papers this narrow) stays on the snapshot's path. Dates alone always read the
    snapshot (2 ms for since:2024-01-01 at a million: one comparison per paper).

    With the categories' packed bit sets (semantic/categories.py) the snapshot's pass costs 1.9 to
    3.5 ms CPU alone whatever the names, against the database's 2.2 ms for 4,088 ids (cat:hep-th
    until:2016-01-01, 0.41 %) and 4.9 ms for 11,902 (cat:cs.RO since:2020-01-01): ``below`` is
    ``BITS_SNAPSHOT_SHARE`` then, ``SNAPSHOT_SHARE`` for a snapshot whose categories are codes alone.
    """
    if not dated.categories:
        return False
    papers = lexical.paper_count
    share = estimate_snapshot_share(lexical.searcher(), published, dated, papers)
    return share < below and choose_nearest_first(share, k, papers) is None


def _selects_days(dated: DatabaseFilter | None) -> bool:
    """Whether the snapshot answers a filter with dates: then it is read from there, never nearest first.

    Measured at a million papers (docs/search.md, "Category filters from the snapshot"): a broad
    filter with dates often finds too few of its nearest papers in range (neighbours cluster in
    time), so nearest first read them for nothing before the allowed set: cat:cs.LG since:2024-01-01
    cost 97 ms CPU against 59 from the snapshot, since:2024-01-01 41 against 34. Categories alone
    stay nearest first (34 ms against 60 for selecting and admitting 587,000 papers).
    """
    return dated is not None and (dated.since is not None or dated.until is not None)
