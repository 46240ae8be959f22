"""Convex fusion on arrays (search/fused.py) chooses exactly what the tuple version chooses."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from papertide.domain.ranking import fuse_normalized_scores
from papertide.search.fused import fuse_top_ids

# Few distinct ids and scores, so that duplicates, overlaps, ties and equal-score lists are common.
_ids = st.integers(min_value=1, max_value=40)
_scores = st.sampled_from([0.0, 0.1, 0.25, 0.3, 0.5, 0.75, 1.0, 2.5, 7.0])


def reference(
    lexical: list[tuple[int, float]],
    semantic: list[tuple[int, float]],
    weights: tuple[float, float],
    floor: float,
    k: int,
) -> list[int]:
    """What search/topics.py computed before: the tuple fusion, then the similarity floor."""
    fused = fuse_normalized_scores([lexical, semantic], weights)
    by_words = {paper_id for paper_id, _ in lexical}
    similarity = dict(semantic)
    kept = [pair for pair in fused if pair[0] in by_words or similarity.get(pair[0], floor) >= floor]
    return [paper_id for paper_id, _ in kept[:k]]


@given(
    lexical=st.lists(st.tuples(_ids, _scores), max_size=30),
    semantic=st.lists(
        st.tuples(_ids, _scores.map(lambda s: float(np.float32(s / 8)))), max_size=30, unique_by=lambda p: p[0]
    ),
    weights=st.sampled_from([(0.6, 0.4), (1.0, 1.0), (0.0, 1.0), (0.3, 0.0)]),
    floor=st.sampled_from([0.0, 0.03, 0.1, 0.5]),
    k=st.integers(min_value=1, max_value=50),
)
def test_array_fusion_chooses_the_same_papers_in_the_same_order_as_the_tuple_fusion(
    lexical: list[tuple[int, float]],
    semantic: list[tuple[int, float]],
    weights: tuple[float, float],
    floor: float,
    k: int,
) -> None:
    semantic.sort(key=lambda pair: (-pair[1], pair[0]))
    ids = np.array([paper_id for paper_id, _ in semantic], dtype=np.int64)
    scores = np.array([score for _, score in semantic], dtype=np.float32)

    found = fuse_top_ids(lexical, ids, scores, weights=weights, floor=floor, k=k)

    assert found == reference(lexical, semantic, weights, floor, k)


def test_array_fusion_of_two_empty_lists_is_empty() -> None:
    empty = np.zeros(0, dtype=np.int64)
    assert fuse_top_ids([], empty, np.zeros(0, dtype=np.float32), weights=(0.6, 0.4), floor=0.3, k=10) == []
