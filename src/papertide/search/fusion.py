"""Fusion of rankings held as arrays: the same results as domain.ranking, without an object per hit (issue 13).

domain/ranking.py states the two fusions over ``(id, score)`` lists and stays the reference
(tests/search/test_fusion.py compares the two over random rankings, ties included). Here the
same arithmetic runs over numpy arrays in the same order of operations (each paper's sum adds
the lists' contributions in list order, starting from 0.0), so scores are bit-for-bit equal and
the order is the same: by score, then (reciprocal rank) the best rank reached in any list, then id.
Only the top of the fused list is sorted (argpartition), since a page needs a few dozen of ~1,200.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from papertide.search.ranked import IdArray, Ranked, ScoreArray


def dedupe_ranked(ranked: Ranked) -> Ranked:
    """Keep the first occurrence of every id (domain.ranking.dedupe)."""
    if len(ranked) < 2:
        return ranked
    _, first = np.unique(ranked.ids, return_index=True)
    if len(first) == len(ranked):
        return ranked
    return ranked.where(np.isin(np.arange(len(ranked)), first))


@dataclass(frozen=True, slots=True)
class Fused:
    """Every fused paper, unordered: its id, fused score and tie-break (best rank; 0 for convex fusion)."""

    ids: IdArray
    scores: ScoreArray
    tiebreak: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.ids)

    def where(self, mask: npt.NDArray[np.bool_]) -> Fused:
        """The papers where ``mask`` is true."""
        return Fused(self.ids[mask], self.scores[mask], self.tiebreak[mask])

    def top(self, count: int) -> Ranked:
        """The ``count`` best papers in order: score descending, then tie-break, then id."""
        if count <= 0 or not len(self.ids):
            return Ranked.empty()
        negated = -self.scores
        candidates = np.arange(len(self.ids))
        if count < len(self.ids):
            # Every paper scoring at least the count-th best score: ties at the cut stay in for the sort.
            threshold = np.partition(negated, count - 1)[count - 1]
            candidates = np.flatnonzero(negated <= threshold)
        order = candidates[np.lexsort((self.ids[candidates], self.tiebreak[candidates], negated[candidates]))]
        chosen = order[:count]
        return Ranked(self.ids[chosen], self.scores[chosen])


def _check_weights(count: int, weights: Sequence[float] | None) -> list[float]:
    if weights is None:
        return [1.0] * count
    if len(weights) != count:
        raise ValueError(f"{len(weights)} weights given for {count} rankings")
    if any(weight < 0 for weight in weights):
        raise ValueError("fusion weights must not be negative")
    return [float(weight) for weight in weights]


def _sum_by_id(ids: list[IdArray], parts: list[ScoreArray]) -> tuple[IdArray, ScoreArray, npt.NDArray[np.intp]]:
    """Each distinct id with the sum of its parts, added in the order given (so 0.0 + first + second)."""
    every = np.concatenate(ids) if ids else np.zeros(0, dtype=np.int64)
    unique, inverse = np.unique(every, return_inverse=True)
    added = np.concatenate(parts) if parts else np.zeros(0, dtype=np.float64)
    # bincount adds the weights into zeros one element at a time, in input order.
    sums = np.bincount(inverse, weights=added, minlength=len(unique)).astype(np.float64)
    return unique, sums, inverse.reshape(-1)


def fuse_reciprocal_rank_arrays(
    rankings: Sequence[Ranked], weights: Sequence[float] | None = None, k: float = 60.0
) -> Fused:
    """Weighted reciprocal-rank fusion, ``sum(weight / (k + rank))`` (domain.ranking.fuse_reciprocal_rank)."""
    if k < 0:
        raise ValueError("the RRF constant k must not be negative")
    checked = _check_weights(len(rankings), weights)
    ids: list[IdArray] = []
    parts: list[ScoreArray] = []
    ranks: list[npt.NDArray[np.int64]] = []
    for ranking, weight in zip(rankings, checked, strict=True):
        unique = dedupe_ranked(ranking)
        rank = np.arange(1, len(unique) + 1, dtype=np.int64)
        ids.append(unique.ids)
        parts.append(weight / (k + rank.astype(np.float64)))
        ranks.append(rank)
    fused_ids, sums, inverse = _sum_by_id(ids, parts)
    best = np.full(len(fused_ids), np.iinfo(np.int64).max, dtype=np.int64)
    if len(inverse):
        np.minimum.at(best, inverse, np.concatenate(ranks))
    return Fused(fused_ids, sums, best)


def normalize_ranked(ranking: Ranked) -> Ranked:
    """Min-max scale a ranking's scores into [0, 1]; equal scores map to 1 (domain.ranking.normalize_scores)."""
    unique = dedupe_ranked(ranking)
    if not len(unique):
        return unique
    low, high = float(unique.scores.min()), float(unique.scores.max())
    if high == low:
        return Ranked(unique.ids, np.ones(len(unique), dtype=np.float64))
    return Ranked(unique.ids, (unique.scores - low) / (high - low))


def fuse_normalized_arrays(rankings: Sequence[Ranked], weights: Sequence[float] | None = None) -> Fused:
    """Convex combination of min-max normalised scores (domain.ranking.fuse_normalized_scores)."""
    checked = _check_weights(len(rankings), weights)
    ids: list[IdArray] = []
    parts: list[ScoreArray] = []
    for ranking, weight in zip(rankings, checked, strict=True):
        normalized = normalize_ranked(ranking)
        ids.append(normalized.ids)
        parts.append(weight * normalized.scores)
    fused_ids, sums, _ = _sum_by_id(ids, parts)
    return Fused(fused_ids, sums, np.zeros(len(fused_ids), dtype=np.int64))


def fuse_words_and_meaning(
    lexical: Ranked, semantic: Ranked, *, fusion: str, weights: tuple[float, float], rrf_k: float, floor: float
) -> tuple[Fused, Fused]:
    """Fuse a BM25 ranking with a similarity ranking: every fused paper, and those the similarity floor keeps.

    ``fusion`` is "convex" (min-max scores) or reciprocal rank. A paper found by words is always
    kept; one found by meaning only is kept when its similarity is at least ``floor``. Dropping
    after fusion leaves the order of everything else as it was, so the floor only removes
    results. Search (query.py) and digest topic matching (topics.py) share this one definition.
    """
    if fusion == "convex":
        fused = fuse_normalized_arrays([lexical, semantic], weights)
    else:
        fused = fuse_reciprocal_rank_arrays([lexical, semantic], weights, k=rrf_k)
    by_words = lexical.positions(fused.ids) >= 0
    # Every fused paper not found by words was found by meaning: its similarity is in the semantic list.
    at = semantic.positions(fused.ids)
    similarity = np.full(len(fused), floor, dtype=np.float64)
    similarity[at >= 0] = semantic.scores[at[at >= 0]]
    return fused, fused.where(by_words | (similarity >= floor))
