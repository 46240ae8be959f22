"""Convex fusion of a BM25 list and a similarity list over numpy arrays, for many topics (issue 13).

``domain.ranking.fuse_normalized_scores`` walks Python tuples: about ten milliseconds for one
topic's thousand-deep lists, which made matching a digest run's thousands of distinct topics
the largest cost of planning. ``fuse_top_ids`` does the same arithmetic in the same order on
float64 arrays (min-max normalisation of each deduplicated list, ``w1 * a + w2 * b``, ties by
id), so it chooses the same papers in the same order; tests/search/test_fused.py compares the
two on many generated lists.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]
Similarities = npt.NDArray[np.float32] | npt.NDArray[np.float64]
Ids = npt.NDArray[np.int64]


def _normalized(ids: Ids, scores: Floats) -> tuple[Ids, Floats, Floats]:
    """First occurrence of each id, its score, and its min-max normalised score (all 1.0 when scores are equal)."""
    if len(ids) == 0:
        return ids, scores, scores
    _, first = np.unique(ids, return_index=True)
    first.sort()
    ids, scores = ids[first], scores[first]
    low, high = scores.min(), scores.max()
    if high == low:
        return ids, scores, np.ones(len(ids), dtype=np.float64)
    return ids, scores, (scores - low) / (high - low)


def fuse_top_ids(
    lexical: Sequence[tuple[int, float]],
    semantic_ids: Ids,
    semantic_scores: Similarities,
    *,
    weights: tuple[float, float],
    floor: float,
    k: int,
) -> list[int]:
    """The ``k`` best ids of the convex fusion, leaving out papers found only by similarity below ``floor``.

    :param lexical: BM25 (id, score) pairs, best first.
    :param semantic_ids: the similarity list's ids, best first, each once.
    :param semantic_scores: their similarities.
    """
    lexical_ids = np.fromiter((pair[0] for pair in lexical), dtype=np.int64, count=len(lexical))
    lexical_scores = np.fromiter((pair[1] for pair in lexical), dtype=np.float64, count=len(lexical))
    lexical_ids, _, lexical_norm = _normalized(lexical_ids, lexical_scores)
    semantic_ids, similarity_of, semantic_norm = _normalized(
        semantic_ids.astype(np.int64), semantic_scores.astype(np.float64)
    )
    every = np.concatenate([lexical_ids, semantic_ids])
    if len(every) == 0:
        return []
    ids, where = np.unique(every, return_inverse=True)
    in_lexical, in_semantic = where[: len(lexical_ids)], where[len(lexical_ids) :]
    total = np.zeros(len(ids), dtype=np.float64)
    # As the dict version adds: 0.0 + w1 * a, then (that or 0.0) + w2 * b.
    total[in_lexical] = 0.0 + weights[0] * lexical_norm
    total[in_semantic] = total[in_semantic] + weights[1] * semantic_norm
    # Found by words: kept; found only by similarity: kept at the floor or above.
    similarity = np.full(len(ids), floor, dtype=np.float64)
    similarity[in_semantic] = similarity_of
    kept = similarity >= floor
    kept[in_lexical] = True
    order = np.lexsort((ids, -total))
    return [int(paper_id) for paper_id in ids[order][kept[order]][:k]]
