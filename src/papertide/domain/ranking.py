"""Pure ranking over ``(id, score)`` lists: fusion of several rankings, dedupe and top-k.

Every ranker in papertide (BM25, embeddings, trending) returns the same shape, best first,
so fusing them needs no knowledge of where a list came from. Nothing here touches a
database, a request or the clock.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence

Ranked = Sequence[tuple[int, float]]

# Cormack et al. (2009) found k = 60 robust across collections; it damps the head of each list.
DEFAULT_RRF_K = 60.0


def dedupe(pairs: Iterable[tuple[int, float]]) -> list[tuple[int, float]]:
    """Keep the first occurrence of every id (the best-ranked one in a best-first list)."""
    seen: set[int] = set()
    kept: list[tuple[int, float]] = []
    for item_id, score in pairs:
        if item_id not in seen:
            seen.add(item_id)
            kept.append((item_id, score))
    return kept


def select_top_k(pairs: Iterable[tuple[int, float]], k: int) -> list[tuple[int, float]]:
    """The ``k`` highest scores, best first; equal scores are ordered by id for stable pages."""
    if k <= 0:
        return []
    return heapq.nsmallest(k, pairs, key=lambda pair: (-pair[1], pair[0]))


def _check_weights(rankings: Sequence[Ranked], weights: Sequence[float] | None) -> Sequence[float]:
    if weights is None:
        return [1.0] * len(rankings)
    if len(weights) != len(rankings):
        raise ValueError(f"{len(weights)} weights given for {len(rankings)} rankings")
    if any(weight < 0 for weight in weights):
        raise ValueError("fusion weights must not be negative")
    return weights


def fuse_reciprocal_rank(
    rankings: Sequence[Ranked],
    weights: Sequence[float] | None = None,
    k: float = DEFAULT_RRF_K,
) -> list[tuple[int, float]]:
    """Weighted reciprocal-rank fusion: ``sum(weight / (k + rank))`` with ranks from 1.

    Only ranks matter, so BM25 scores and cosine similarities need no common scale. Ties
    are broken by the best rank an id reached in any list, then by id.
    """
    if k < 0:
        raise ValueError("the RRF constant k must not be negative")
    weights = _check_weights(rankings, weights)
    fused: dict[int, float] = {}
    best_rank: dict[int, int] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, (item_id, _score) in enumerate(dedupe(ranking), start=1):
            fused[item_id] = fused.get(item_id, 0.0) + weight / (k + rank)
            best_rank[item_id] = min(best_rank.get(item_id, rank), rank)
    return sorted(fused.items(), key=lambda pair: (-pair[1], best_rank[pair[0]], pair[0]))


def normalize_scores(ranking: Ranked) -> list[tuple[int, float]]:
    """Min-max scale a list's scores into [0, 1]; a list of equal scores maps to 1."""
    pairs = dedupe(ranking)
    if not pairs:
        return []
    low = min(score for _, score in pairs)
    high = max(score for _, score in pairs)
    if high == low:
        return [(item_id, 1.0) for item_id, _ in pairs]
    return [(item_id, (score - low) / (high - low)) for item_id, score in pairs]


def fuse_normalized_scores(
    rankings: Sequence[Ranked],
    weights: Sequence[float] | None = None,
) -> list[tuple[int, float]]:
    """Convex combination of min-max normalised scores; an id missing from a list scores 0 there.

    Unlike reciprocal-rank fusion this keeps how far apart scores are, which helps when one
    engine is confident and the other is not.
    """
    weights = _check_weights(rankings, weights)
    fused: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for item_id, score in normalize_scores(ranking):
            fused[item_id] = fused.get(item_id, 0.0) + weight * score
    return sorted(fused.items(), key=lambda pair: (-pair[1], pair[0]))
