"""Fusion with the similarity floor on arrays (search/fusion.py, shared by search and digest topics).

It chooses the papers the tuple fusion of domain/ranking.py chooses, in the same order.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from papertide.domain.ranking import fuse_normalized_scores, fuse_reciprocal_rank
from papertide.search.fusion import fuse_words_and_meaning
from papertide.search.ranked import Ranked

# Few distinct ids and scores, so that duplicates, overlaps, ties and equal-score lists are common.
_ids = st.integers(min_value=1, max_value=40)
_scores = st.sampled_from([0.0, 0.1, 0.25, 0.3, 0.5, 0.75, 1.0, 2.5, 7.0])


def reference(
    lexical: list[tuple[int, float]],
    semantic: list[tuple[int, float]],
    weights: tuple[float, float],
    floor: float,
    k: int,
    fusion: str,
) -> list[int]:
    """What search/topics.py computed before: the tuple fusion, then the similarity floor."""
    if fusion == "convex":
        fused = fuse_normalized_scores([lexical, semantic], weights)
    else:
        fused = fuse_reciprocal_rank([lexical, semantic], weights, k=60.0)
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
    fusion=st.sampled_from(["convex", "rrf"]),
)
def test_array_fusion_chooses_the_same_papers_in_the_same_order_as_the_tuple_fusion(
    lexical: list[tuple[int, float]],
    semantic: list[tuple[int, float]],
    weights: tuple[float, float],
    floor: float,
    k: int,
    fusion: str,
) -> None:
    semantic.sort(key=lambda pair: (-pair[1], pair[0]))
    ids = np.array([paper_id for paper_id, _ in semantic], dtype=np.int64)
    scores = np.array([score for _, score in semantic], dtype=np.float32)

    _, kept = fuse_words_and_meaning(
        Ranked.from_pairs(lexical), Ranked.of(ids, scores), fusion=fusion, weights=weights, rrf_k=60.0, floor=floor
    )

    assert kept.top(k).ids.tolist() == reference(lexical, semantic, weights, floor, k, fusion)


def test_array_fusion_of_two_empty_lists_is_empty() -> None:
    for fusion in ("convex", "rrf"):
        fused, kept = fuse_words_and_meaning(
            Ranked.empty(), Ranked.empty(), fusion=fusion, weights=(0.6, 0.4), rrf_k=60.0, floor=0.3
        )
        assert len(fused) == 0 and kept.top(10).ids.tolist() == []
