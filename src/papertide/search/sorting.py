"""Re-ordering the most relevant results by date or by trending score.

Sorting re-orders a pool of the most relevant results rather than every paper that shares a
word with the query: "newest papers about neural ODEs" should be about neural ODEs first.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection

from papertide.domain.trending import TrendingCandidate
from papertide.search.changes import fetch_sort_keys
from papertide.search.request import TrendingRanker

Pairs = list[tuple[int, float]]
# Papers without a date sort last (and count as old for trending).
_UNDATED = dt.date(1970, 1, 1)


def sort_by_date(conn: Connection, ranked: Pairs) -> Pairs:
    """Newest publication first; papers of the same day keep their relevance order."""
    keys = fetch_sort_keys(conn, [paper_id for paper_id, _ in ranked])
    order = {paper_id: position for position, (paper_id, _) in enumerate(ranked)}
    present = [pair for pair in ranked if pair[0] in keys]

    def key(pair: tuple[int, float]) -> tuple[int, int]:
        published = keys[pair[0]].published or _UNDATED
        return (-published.toordinal(), order[pair[0]])

    return sorted(present, key=key)


def sort_by_trending(conn: Connection, ranked: Pairs, rank_trending: TrendingRanker | None) -> Pairs:
    """By the trending score when a ranker is wired in, else by upvotes then listing date."""
    keys = fetch_sort_keys(conn, [paper_id for paper_id, _ in ranked])
    relevance = dict(ranked)
    if rank_trending is not None:
        candidates = [
            TrendingCandidate(paper_id=paper_id, upvotes=key.upvotes, listed_on=key.listing_date or _UNDATED)
            for paper_id, key in keys.items()
        ]
        return [(hit.paper_id, relevance[hit.paper_id]) for hit in rank_trending(candidates)]
    order = {paper_id: position for position, (paper_id, _) in enumerate(ranked)}
    present = [pair for pair in ranked if pair[0] in keys]

    def key(pair: tuple[int, float]) -> tuple[int, int, int]:
        found = keys[pair[0]]
        listed = found.listing_date or _UNDATED
        return (-found.upvotes, -listed.toordinal(), order[pair[0]])

    return sorted(present, key=key)
