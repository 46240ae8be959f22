"""Fusion over arrays (search/fusion.py) gives what the reference over pairs (domain/ranking.py) gives (issue 13)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from papertide.domain.ranking import fuse_normalized_scores, fuse_reciprocal_rank
from papertide.search.fusion import fuse_normalized_arrays, fuse_reciprocal_rank_arrays
from papertide.search.ranked import Ranked, sort_best_first

# Few ids and few distinct scores: the same id on both sides, one side only, repeats and ties are all common.
ids = st.integers(min_value=0, max_value=40)
scores = st.sampled_from([0.0, 0.25, 0.5, 0.5, 1.0, -0.3, 3.75, 12.0])
rankings = st.lists(st.tuples(ids, scores), max_size=30)
weights = st.tuples(st.sampled_from([0.0, 0.3, 1.0, 2.5]), st.sampled_from([0.0, 0.7, 1.0]))


def as_pairs(ranked: Ranked) -> list[tuple[int, float]]:
    return list(zip(ranked.ids.tolist(), ranked.scores.tolist(), strict=True))


@settings(max_examples=300, deadline=None)
@given(
    lexical=rankings, semantic=rankings, weights=weights, k=st.sampled_from([0.0, 1.0, 60.0]), count=st.integers(0, 70)
)
def test_reciprocal_rank_fusion_of_arrays_equals_the_reference(
    lexical: list[tuple[int, float]],
    semantic: list[tuple[int, float]],
    weights: tuple[float, float],
    k: float,
    count: int,
) -> None:
    expected = fuse_reciprocal_rank([lexical, semantic], weights, k=k)
    fused = fuse_reciprocal_rank_arrays([Ranked.from_pairs(lexical), Ranked.from_pairs(semantic)], weights, k=k)
    assert len(fused) == len(expected)
    # Same ids, same order, bit-for-bit the same scores.
    assert as_pairs(fused.top(count)) == expected[:count]


@settings(max_examples=300, deadline=None)
@given(lexical=rankings, semantic=rankings, weights=weights, count=st.integers(0, 70))
def test_convex_fusion_of_arrays_equals_the_reference(
    lexical: list[tuple[int, float]], semantic: list[tuple[int, float]], weights: tuple[float, float], count: int
) -> None:
    expected = fuse_normalized_scores([lexical, semantic], weights)
    fused = fuse_normalized_arrays([Ranked.from_pairs(lexical), Ranked.from_pairs(semantic)], weights)
    assert len(fused) == len(expected)
    assert as_pairs(fused.top(count)) == expected[:count]


@settings(max_examples=200, deadline=None)
@given(lexical=rankings, semantic=rankings, floor=st.sampled_from([-1.0, 0.0, 0.5, 2.0]))
def test_dropping_papers_before_taking_the_top_keeps_the_reference_order(
    lexical: list[tuple[int, float]], semantic: list[tuple[int, float]], floor: float
) -> None:
    expected = [pair for pair in fuse_reciprocal_rank([lexical, semantic]) if pair[0] % 3 or pair[1] >= floor / 60]
    fused = fuse_reciprocal_rank_arrays([Ranked.from_pairs(lexical), Ranked.from_pairs(semantic)])
    kept = fused.where((fused.ids % 3 != 0) | (fused.scores >= floor / 60))
    assert as_pairs(kept.top(len(kept))) == expected


def test_a_paper_tied_with_the_last_one_on_the_page_is_ordered_by_its_best_rank_then_its_id() -> None:
    # 7 and 9 each appear once at rank 1 and 3 tie at the same score; 5 and 8 tie at rank 2.
    lexical = Ranked.from_pairs([(9, 1.0), (8, 0.5)])
    semantic = Ranked.from_pairs([(7, 0.9), (5, 0.8)])
    fused = fuse_reciprocal_rank_arrays([lexical, semantic])
    assert fused.top(3).ids.tolist() == [7, 9, 5]
    assert fused.top(4).ids.tolist() == [7, 9, 5, 8]


def test_fusion_refuses_negative_weights_and_a_negative_constant() -> None:
    with pytest.raises(ValueError, match="negative"):
        fuse_reciprocal_rank_arrays([Ranked.empty()], [-1.0])
    with pytest.raises(ValueError, match="k must not be negative"):
        fuse_reciprocal_rank_arrays([Ranked.empty()], k=-1.0)
    with pytest.raises(ValueError, match="2 weights given for 1"):
        fuse_normalized_arrays([Ranked.empty()], [1.0, 1.0])


def test_positions_finds_the_first_occurrence_and_marks_absent_ids() -> None:
    ranked = Ranked.from_pairs([(4, 1.0), (2, 0.5), (4, 0.2), (9, 0.1)])
    assert ranked.positions(np.array([4, 9, 3, 100, 2], dtype=np.int64)).tolist() == [0, 3, -1, -1, 1]
    assert Ranked.empty().positions(np.array([1], dtype=np.int64)).tolist() == [-1]


def test_sorting_best_first_breaks_ties_by_id() -> None:
    ranked = sort_best_first(Ranked.from_pairs([(5, 0.5), (2, 0.5), (7, 0.9)]))
    assert as_pairs(ranked) == [(7, 0.9), (2, 0.5), (5, 0.5)]
