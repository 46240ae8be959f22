"""The bitmaps a snapshot keeps for recent filters (bitmaps.py, issue 13) never answer for a changed filter.

A snapshot of 500 random unit vectors, searched exactly and through the HNSW graph beside an
in-memory index of the same vectors (the truth); the replica then embeds 100 papers again or
anew, hiding the snapshot rows of 50. Each test searches twice with what a kept bitmap could be
mistaken for: the same filter array after rows were hidden, a writable filter array changed in
place, the unfiltered search before and after hiding.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from papertide.search.semantic.index import IndexConfig, VectorIndex
from papertide.search.semantic.replica import ReplicaIndex
from papertide.search.semantic.snapshot import read_snapshot, write_snapshot

# The graph is walked for every filter (a tiny graph cost), as wide as the index: its answers are exact here.
KINDS = [IndexConfig(kind="exact"), IndexConfig(kind="hnsw", hnsw_m=8, ef_search=600, graph_cost_ratio=0.01)]
DIM = 16


def unit_vectors(count: int) -> npt.NDArray[np.float32]:
    vectors = np.random.default_rng(5).standard_normal((count, DIM)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def replica_and_truth(folder: Path, config: IndexConfig) -> tuple[ReplicaIndex, VectorIndex]:
    kind = "exact" if config.kind == "exact" else "hnsw"
    truth = VectorIndex(DIM, "exact", config)
    written = VectorIndex(DIM, kind, config)
    vectors = unit_vectors(500)
    written.add(np.arange(500, dtype=np.int64), vectors)
    truth.add(np.arange(500, dtype=np.int64), vectors)
    write_snapshot(folder, written, {"change_seq": 1})
    loaded = read_snapshot(folder, config)
    assert loaded is not None
    return ReplicaIndex(DIM, config, loaded[0], kind), truth


def embed_again(replica: ReplicaIndex, truth: VectorIndex) -> None:
    """Papers 450..549 get new vectors: 50 hide their snapshot row, 50 are new."""
    changes = np.arange(450, 550, dtype=np.int64)
    vectors = unit_vectors(700)[600:700]
    replica.add(changes, vectors)
    truth.add(changes, vectors)


def read_only(ids: list[int] | npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    array = np.array(ids, dtype=np.int64)
    array.flags.writeable = False
    return array


def same_ids(found: list[tuple[int, float]], expected: list[tuple[int, float]]) -> list[int]:
    assert [pid for pid, _ in found] == [pid for pid, _ in expected]
    assert [score for _, score in found] == pytest.approx([score for _, score in expected], abs=1e-5)
    return [pid for pid, _ in found]


@pytest.mark.parametrize("config", KINDS, ids=["exact", "hnsw"])
def test_a_repeated_filter_is_answered_from_its_kept_bitmap_with_the_same_hits(
    tmp_path: Path, config: IndexConfig
) -> None:
    replica, truth = replica_and_truth(tmp_path, config)
    allowed = read_only(np.arange(0, 500, 3))
    query = unit_vectors(501)[500]
    first = same_ids(replica.search(query, 20, allowed), truth.search(query, 20, allowed))
    second = same_ids(replica.search(query, 20, allowed), truth.search(query, 20, allowed))
    assert first == second
    assert replica.base is not None and replica.base.bitmaps.hits == 1


@pytest.mark.parametrize("config", KINDS, ids=["exact", "hnsw"])
def test_rows_hidden_after_a_filter_was_kept_are_never_returned(tmp_path: Path, config: IndexConfig) -> None:
    replica, truth = replica_and_truth(tmp_path, config)
    allowed = read_only(np.arange(400, 500))
    for query in unit_vectors(700)[600:603]:
        replica.search(query, 100, allowed)
    embed_again(replica, truth)
    for query in unit_vectors(700)[600:603]:
        # Each paper once, with its new vector's score: the old row of 450..499 is left out.
        found = same_ids(replica.search(query, 100, allowed), truth.search(query, 100, allowed))
        assert sorted(found) == list(range(400, 500))


@pytest.mark.parametrize("config", KINDS, ids=["exact", "hnsw"])
def test_the_unfiltered_search_leaves_out_rows_hidden_since_the_last_one(tmp_path: Path, config: IndexConfig) -> None:
    replica, truth = replica_and_truth(tmp_path, config)
    query = unit_vectors(700)[610]
    # Paper 7 embedded again first: the unfiltered search admits every row but its old one.
    moved = unit_vectors(800)[799:800]
    replica.add(np.array([7]), moved)
    truth.add(np.array([7]), moved)
    replica.search(query, 10)
    embed_again(replica, truth)
    found = replica.search(query, 550)
    assert sorted(pid for pid, _ in found) == list(range(550))
    same_ids(replica.search(query, 10), truth.search(query, 10))


@pytest.mark.parametrize("config", KINDS, ids=["exact", "hnsw"])
def test_a_writable_filter_array_changed_in_place_is_searched_as_it_is_now(tmp_path: Path, config: IndexConfig) -> None:
    replica, truth = replica_and_truth(tmp_path, config)
    allowed = np.arange(0, 100, dtype=np.int64)
    query = unit_vectors(501)[500]
    same_ids(replica.search(query, 10, allowed), truth.search(query, 10, allowed))
    allowed += 300
    found = same_ids(replica.search(query, 10, allowed), truth.search(query, 10, allowed))
    assert all(300 <= pid < 400 for pid in found)
    assert replica.base is not None and replica.base.bitmaps.hits == 0


@pytest.mark.parametrize("order", ["sorted", "shuffled"])
def test_a_small_delta_searched_with_a_broad_filter_admits_exactly_its_rows_that_pass(order: str) -> None:
    # 30 rows (one dead: paper 6 embedded again) against 1,003 allowed ids: the delta looks
    # its own ids up among the sorted filter instead of the filter's ids in its rows.
    delta = VectorIndex(DIM, "exact", IndexConfig(kind="exact"))
    vectors = unit_vectors(40)
    delta.add(np.arange(0, 56, 2, dtype=np.int64), vectors[:28])
    delta.add(np.array([5, 6], dtype=np.int64), vectors[28:30])
    allowed = np.arange(3, 2003, 2, dtype=np.int64)  # the odd ids from 3: 5 only among the delta's
    allowed = np.concatenate([allowed, [6, 10, 12]])
    if order == "sorted":
        allowed.sort()
    else:
        np.random.default_rng(1).shuffle(allowed)
    found = delta.search(vectors[35], 50, allowed)
    assert sorted(pid for pid, _ in found) == [5, 6, 10, 12]
    assert dict(found)[6] == pytest.approx(float(vectors[29] @ vectors[35]), abs=1e-6)
