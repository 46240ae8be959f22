"""Fusion, dedupe and top-k over (id, score) lists, checked against hand-computed values."""

from __future__ import annotations

import pytest

from papertide.domain.ranking import (
    dedupe,
    fuse_normalized_scores,
    fuse_reciprocal_rank,
    normalize_scores,
    select_top_k,
)


def test_reciprocal_rank_fusion_matches_hand_computed_scores() -> None:
    lexical = [(1, 12.0), (2, 9.0), (3, 1.0)]
    semantic = [(3, 0.9), (1, 0.8), (4, 0.1)]
    fused = dict(fuse_reciprocal_rank([lexical, semantic], k=60))
    assert fused[1] == pytest.approx(1 / 61 + 1 / 62)
    assert fused[3] == pytest.approx(1 / 63 + 1 / 61)
    assert fused[2] == pytest.approx(1 / 62)
    assert fused[4] == pytest.approx(1 / 63)
    assert [item for item, _ in fuse_reciprocal_rank([lexical, semantic], k=60)] == [1, 3, 2, 4]


def test_a_paper_found_by_both_engines_outranks_one_found_by_either() -> None:
    fused = fuse_reciprocal_rank([[(10, 5.0), (20, 4.0)], [(30, 0.9), (20, 0.8)]])
    assert fused[0][0] == 20


def test_weights_tilt_the_fusion_towards_one_engine() -> None:
    lexical = [(1, 3.0), (2, 2.0)]
    semantic = [(2, 0.9), (1, 0.5)]
    assert fuse_reciprocal_rank([lexical, semantic], weights=[2.0, 1.0])[0][0] == 1
    assert fuse_reciprocal_rank([lexical, semantic], weights=[1.0, 2.0])[0][0] == 2


def test_equal_fused_scores_go_to_the_better_single_rank_then_the_lower_id() -> None:
    fused = fuse_reciprocal_rank([[(7, 1.0), (5, 0.5)], [(5, 1.0), (7, 0.5)], [(9, 1.0)]], weights=[1, 1, 0])
    assert [item for item, _ in fused] == [5, 7, 9]


def test_an_id_repeated_within_one_list_counts_once_at_its_best_rank() -> None:
    fused = dict(fuse_reciprocal_rank([[(1, 3.0), (1, 2.0), (2, 1.0)]], k=0))
    assert fused == {1: pytest.approx(1.0), 2: pytest.approx(0.5)}


def test_bad_weights_are_refused() -> None:
    with pytest.raises(ValueError, match="2 weights given for 1 rankings"):
        fuse_reciprocal_rank([[(1, 1.0)]], weights=[1.0, 1.0])
    with pytest.raises(ValueError, match="must not be negative"):
        fuse_normalized_scores([[(1, 1.0)]], weights=[-1.0])


def test_min_max_normalisation_maps_scores_into_the_unit_interval() -> None:
    assert normalize_scores([(1, 10.0), (2, 5.0), (3, 0.0)]) == [(1, 1.0), (2, 0.5), (3, 0.0)]
    assert normalize_scores([(1, 4.0), (2, 4.0)]) == [(1, 1.0), (2, 1.0)]
    assert normalize_scores([]) == []


def test_convex_fusion_adds_weighted_normalised_scores() -> None:
    lexical = [(1, 20.0), (2, 10.0), (3, 0.0)]
    semantic = [(3, 0.9), (2, 0.7), (4, 0.5)]
    fused = dict(fuse_normalized_scores([lexical, semantic], weights=[0.3, 0.7]))
    assert fused[1] == pytest.approx(0.3)
    assert fused[2] == pytest.approx(0.3 * 0.5 + 0.7 * 0.5)
    assert fused[3] == pytest.approx(0.7)
    assert fused[4] == pytest.approx(0.0)


def test_dedupe_keeps_the_first_occurrence() -> None:
    assert dedupe([(1, 0.9), (2, 0.8), (1, 0.7)]) == [(1, 0.9), (2, 0.8)]


def test_top_k_orders_by_score_then_id() -> None:
    assert select_top_k([(3, 1.0), (1, 2.0), (2, 1.0), (4, 0.5)], 3) == [(1, 2.0), (2, 1.0), (3, 1.0)]
    assert select_top_k([(1, 1.0)], 0) == []
