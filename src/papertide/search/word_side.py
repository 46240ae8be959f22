"""The word side of a search: BM25's top ``depth`` and how many papers match (lexical and hybrid modes).

Counting every match defeats tantivy's block skipping, so it is skipped when it cannot change the
page: without a filter, when one query word alone is in ``max_results`` papers; with a broad
filter, the ranking and a lower bound of the count come from the unfiltered ranking (lexical/
broad.py), checked against the filter's kept ids (search/allowed.py) or, on a first use, against
the vector snapshot's days and categories (``SnapshotFilter``). Anything else runs the filtered
query with its count.

On a first use the hits are checked as search/nearest_first.py checks a broad filter's nearest
papers (``keep_in_snapshot``: the snapshot's arrays, the papers changed since its seq asked of the
database), so a paper changed after the lexical index's last commit is judged by the database's
row, as kept ids judge it and as the meaning side does; the filtered query judges it by the
index's copy until the next commit (docs/search.md).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sqlalchemy import Engine

from papertide.domain.query import SearchQuery
from papertide.search.allowed import AllowedCache
from papertide.search.changed_since import ChangedSince, changed_since
from papertide.search.database_filter import DatabaseFilter
from papertide.search.filtered_side import DatedRanker, compose_snapshot_filter
from papertide.search.hybrid import LexicalRun
from papertide.search.lexical.broad import BroadFilter, BroadWords, Membership, kept_filter, rank_broad_words
from papertide.search.lexical.index import LexicalIndex
from papertide.search.lexical.plan import LexicalPlan
from papertide.search.nearest_first import estimate_snapshot_share, keep_in_snapshot
from papertide.search.ranked import Ranked
from papertide.search.semantic.days import PublishedDays

# The count's id range runs to the highest id there can be: papers stored after the snapshot are newer still.
HIGHEST_ID = int(np.iinfo(np.int64).max)


@dataclass(frozen=True, slots=True)
class SnapshotFilter:
    """A filter of dates and categories whose first use the meaning side's vector snapshot answers.

    ``published`` is the snapshot the meaning side of the same search reads (search/query.py
    hands both sides the one it read), ``checked`` the query's filter as the database checks it.
    """

    engine: Engine
    checked: DatabaseFilter
    published: PublishedDays
    # The papers changed since ``published``, read once for both sides (search/changed_since.py); None: here.
    changes: ChangedSince | None = None


def first_use_days(semantic: object, cache: AllowedCache, plan: LexicalPlan) -> PublishedDays | None:
    """On a filter's first use, the snapshot days (and categories) of ``semantic`` if it is loaded; else None.

    ``semantic``: the search service's semantic side as it stands (None before its first load):
    never loaded nor waited for here, and its snapshot read without its lock (the one it follows now).
    """
    if plan.required_key is None or cache.holds(plan.required_key):
        return None
    return semantic.published_days() if isinstance(semantic, DatedRanker) else None


def compose_snapshot_words(
    engine: Engine, query: SearchQuery, published: PublishedDays | None, changes: ChangedSince | None = None
) -> SnapshotFilter | None:
    """The filter for the word side to check in ``published``, when the snapshot answers it (dates, categories)."""
    checked = compose_snapshot_filter(query, published)
    return None if checked is None or published is None else SnapshotFilter(engine, checked, published, changes)


def prepare_first_use(
    semantic: object, cache: AllowedCache, plan: LexicalPlan, query: SearchQuery, engine: Engine, latest: int | None
) -> tuple[ChangedSince | None, SnapshotFilter | None]:
    """On a filter's first use, the snapshot's changes (search/changed_since.py: ``latest`` from the search's own
    freshness check) and the word side's check there; (None, None) otherwise.

    Both sides read the one snapshot and the one list of changes: the word side checks its hits
    there, the meaning side its allowed ids or nearest papers (``changes.published``).
    """
    published = first_use_days(semantic, cache, plan)
    changes = changed_since(engine, published, latest)
    return changes, compose_snapshot_words(engine, query, published, changes)


def run_words(
    lexical: LexicalIndex,
    cache: AllowedCache,
    plan: LexicalPlan,
    depth: int,
    max_results: int,
    membership: Membership | None = None,
    snapshot: SnapshotFilter | None = None,
) -> LexicalRun:
    """BM25 top ``depth`` and how many match (exact unless at least ``max_results``), with its explain line."""
    if plan.ranked is None:
        return LexicalRun(Ranked.empty(), 0, True, ["lexical: the words are all stop words; nothing to match"], [])
    start = time.perf_counter()
    broad = read_broad(lexical, cache, plan, depth, max_results, membership, snapshot)
    if broad is not None:
        ranked, total, exact, how = broad.ranked, broad.total, broad.exact, f" of {broad.how}"
    else:
        at_least = lexical.most_frequent(plan.terms) if plan.required is None else 0
        exact = at_least < max_results
        ranked, total = lexical.search_counted(plan.ranked, depth, count=exact)
        total, how = total if exact else max_results, ""
    matched = f"{total} match" if exact else f"at least {total} match"
    took = f"{(time.perf_counter() - start) * 1000:.1f} ms"
    explain = [f"lexical: {plan.description} -> {matched}, top {len(ranked)}{how} in {took}"]
    return LexicalRun(ranked, total, exact, explain, [("lexical", ranked)])


def read_broad(
    lexical: LexicalIndex,
    cache: AllowedCache,
    plan: LexicalPlan,
    depth: int,
    max_results: int,
    membership: Membership | None = None,
    snapshot: SnapshotFilter | None = None,
) -> BroadWords | None:
    """A broad filter's words from the unfiltered ranking: checked against its ids kept at the searcher's
    commit, else against ``snapshot`` when given; None: run the filtered query."""
    if plan.words is None:
        return None
    generation = lexical.generation
    papers = lexical.paper_count
    allowed = cache.peek(plan.required_key, generation)
    if allowed is not None:
        found = rank_broad_words(lexical, plan, kept_filter(allowed, membership), papers, depth, max_results)
    elif snapshot is not None and plan.required_key is not None:
        found = rank_broad_words(lexical, plan, snapshot_filter(lexical, snapshot, papers), papers, depth, max_results)
    else:
        return None
    # A commit loaded meanwhile (another request's freshness check): the ids may not be its searcher's,
    # and the ranking and the count may have read two commits.
    return found if lexical.generation == generation else None


def snapshot_filter(lexical: LexicalIndex, snapshot: SnapshotFilter, papers: int) -> BroadFilter:
    """The filter checked against the snapshot, its share estimated (``estimate_snapshot_share``).

    The estimate sizes the unfiltered read and the count's id range only: too few passing hits, or
    a bound not past ``max_results``, run the filtered query (lexical/broad.py).
    """
    checked, published = snapshot.checked, snapshot.published
    share = estimate_snapshot_share(lexical.searcher(), published, checked, papers)
    # Made on the first check only: a filter too narrow to read unfiltered never asks for it.
    kept: list[Callable[[npt.NDArray[np.int64]], npt.NDArray[np.int64]]] = []

    def check(ids: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
        if not kept:
            kept.append(keep_in_snapshot(snapshot.engine, checked, published, snapshot.changes))
        return np.isin(ids, kept[0](np.sort(ids)))

    def newest(size: int) -> tuple[int, int] | None:
        # The snapshot's highest ids, as many as hold about ``size`` passing papers; those stored since are above.
        rows = math.ceil(size / share) if share > 0 else len(published.ids) + 1
        if 2 * size > share * papers or rows > len(published.ids):
            return None
        return int(published.ids[-rows]), HIGHEST_ID

    return BroadFilter(round(share * papers), check, newest, " in the vector snapshot")
