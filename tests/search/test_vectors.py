"""Paper vectors in the database (both dialects), the nearest-neighbour index and its snapshots."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine

from papertide.search.semantic.admitted import row_lookup, rows_in, select_top
from papertide.search.semantic.index import IndexConfig, VectorIndex
from papertide.search.semantic.passages import normalize_rows
from papertide.search.semantic.snapshot import read_snapshot, write_snapshot
from papertide.search.semantic.vectors import (
    ModelMismatch,
    VectorSpace,
    check_space,
    fetch_papers_by_id,
    fetch_papers_to_embed,
    fetch_pending_count,
    fetch_vector,
    iter_vectors,
    write_vectors,
)
from papertide.store.engine import begin_write
from tests.search.search_corpus import THEMED, paper_ids, store

NOW = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
SPACE = VectorSpace("test/model", 8)


def unit_rows(count: int, dim: int, seed: int = 0) -> np.ndarray:
    return normalize_rows(np.random.default_rng(seed).normal(size=(count, dim)))


def embed_all(engine: Engine, space: VectorSpace = SPACE, seed: int = 0) -> dict[int, np.ndarray]:
    """Store a random vector for every paper that needs one; returns them by paper id."""
    with engine.connect() as conn:
        todo = fetch_papers_to_embed(conn, space, 0, 1000)
    vectors = unit_rows(len(todo), space.dim, seed)
    with begin_write(engine) as conn:
        write_vectors(conn, space, list(zip(todo, vectors, strict=True)), NOW)
    return {paper.id: vector for paper, vector in zip(todo, vectors, strict=True)}


# --- storage, both databases ---------------------------------------------------------------------


def test_vectors_round_trip_through_the_database(themed_engine: Engine) -> None:
    written = embed_all(themed_engine)
    assert len(written) == len(THEMED)
    batches = list(iter_vectors(themed_engine, SPACE, 0, batch_size=2))
    ids = np.concatenate([ids for ids, _, _ in batches])
    vectors = np.concatenate([vectors for _, vectors, _ in batches])
    for paper_id, vector in zip(ids, vectors, strict=True):
        np.testing.assert_array_equal(vector, written[int(paper_id)])
    change_seqs = [seq for _, _, seq in batches]
    assert change_seqs == sorted(change_seqs) and len(set(change_seqs)) == len(change_seqs)
    with themed_engine.connect() as conn:
        some_id = next(iter(written))
        stored = fetch_vector(conn, some_id, SPACE)
        assert stored is not None
        np.testing.assert_array_equal(stored, written[some_id])


def test_only_vectors_written_after_a_change_seq_are_read_again(themed_engine: Engine) -> None:
    embed_all(themed_engine)
    *_, (_, _, last) = iter_vectors(themed_engine, SPACE, 0)
    assert list(iter_vectors(themed_engine, SPACE, last)) == []
    changed = dataclasses.replace(THEMED[0], abstract="A new abstract.")
    store(themed_engine, changed)
    embed_all(themed_engine, seed=1)
    (ids, _, _), *rest = list(iter_vectors(themed_engine, SPACE, last))
    assert not rest
    assert ids.tolist() == [paper_ids(themed_engine)[changed.arxiv_id]]


def test_a_changed_text_makes_a_vector_stale_but_new_upvotes_do_not(themed_engine: Engine) -> None:
    embed_all(themed_engine)
    with themed_engine.connect() as conn:
        assert fetch_pending_count(conn, SPACE) == 0
    store(themed_engine, dataclasses.replace(THEMED[1], external_upvotes=500))
    store(themed_engine, dataclasses.replace(THEMED[2], abstract="Rewritten abstract."))
    ids = paper_ids(themed_engine)
    with themed_engine.connect() as conn:
        stale = {paper.id: paper for paper in fetch_papers_to_embed(conn, SPACE, 0, 100)}
        assert set(stale) == {ids[THEMED[1].arxiv_id], ids[THEMED[2].arxiv_id]}
        # The upvoted paper's text is unchanged: its vector only needs the new seq recorded.
        assert stale[ids[THEMED[1].arxiv_id]].is_current(SPACE)
        assert not stale[ids[THEMED[2].arxiv_id]].is_current(SPACE)


def test_vectors_of_another_space_are_stale_and_reported_as_a_mismatch(themed_engine: Engine) -> None:
    embed_all(themed_engine)
    other = VectorSpace("other/model", 8)
    with themed_engine.connect() as conn:
        assert fetch_pending_count(conn, other) == len(THEMED)
        check_space(conn, SPACE)
        check_space(conn, VectorSpace("test/model", 0))
        with pytest.raises(ModelMismatch, match="papertide reindex") as raised:
            check_space(conn, other)
        assert "test/model" in str(raised.value) and "other/model" in str(raised.value)
        with pytest.raises(ModelMismatch):
            check_space(conn, VectorSpace("test/model", 16))
        assert len(fetch_papers_by_id(conn, [*paper_ids(themed_engine).values(), 10_000])) == len(THEMED)


# --- the index -----------------------------------------------------------------------------------

CONFIG = IndexConfig(hnsw_m=16, ef_construction=80, ef_search=64)


def brute_force(vectors: np.ndarray, ids: np.ndarray, query: np.ndarray, k: int) -> list[int]:
    order = np.argsort(-(vectors @ query), kind="stable")[:k]
    return [int(ids[i]) for i in order]


@pytest.mark.parametrize("kind", ["exact", "hnsw"])
def test_nearest_neighbours_match_brute_force(kind: str) -> None:
    vectors = unit_rows(3000, 32)
    ids = np.arange(100, 3100, dtype=np.int64)
    index = VectorIndex(32, kind, CONFIG)  # type: ignore[arg-type]
    index.add(ids, vectors)
    queries = unit_rows(50, 32, seed=9)
    overlap = [
        len({pid for pid, _ in index.search(q, 10)} & set(brute_force(vectors, ids, q, 10))) / 10 for q in queries
    ]
    assert np.mean(overlap) == 1.0 if kind == "exact" else np.mean(overlap) >= 0.95
    scores = [score for _, score in index.search(queries[0], 10)]
    assert scores == sorted(scores, reverse=True)


def test_the_top_scores_come_best_first_ties_by_id_as_plain_python_numbers() -> None:
    # A semantic search reads up to 1,000 neighbours; they are converted in one go (issue 9, load).
    scores = np.array([0.5, 0.9, 0.5, 0.1, 0.9, 0.7], dtype=np.float32)
    ids = np.array([30, 20, 10, 60, 50, 40], dtype=np.int64)
    top = select_top(scores, ids, 5).pairs()
    nine, seven = float(np.float32(0.9)), float(np.float32(0.7))
    assert top == [(20, nine), (50, nine), (40, seven), (10, 0.5), (30, 0.5)]
    assert all(type(paper_id) is int and type(score) is float for paper_id, score in top)
    assert select_top(scores, ids, 10).ids.tolist() == [20, 50, 40, 10, 30, 60]


@pytest.mark.parametrize("kind", ["exact", "hnsw"])
def test_a_replaced_vector_is_found_once_by_its_new_value(kind: str) -> None:
    vectors = unit_rows(200, 16)
    ids = np.arange(200, dtype=np.int64)
    index = VectorIndex(16, kind, CONFIG)  # type: ignore[arg-type]
    index.add(ids, vectors)
    target = unit_rows(1, 16, seed=5)[0]
    index.add(np.array([7], dtype=np.int64), target[None, :])
    hits = index.search(target, 5)
    assert hits[0][0] == 7 and hits[0][1] == pytest.approx(1.0)
    assert [pid for pid, _ in index.search(vectors[7], 200)].count(7) == 1
    assert len(index) == 200
    np.testing.assert_allclose(index.vector(7), target)  # type: ignore[arg-type]


def test_candidates_restrict_the_search_to_exact_scores_over_them() -> None:
    vectors = unit_rows(500, 16)
    ids = np.arange(500, dtype=np.int64)
    index = VectorIndex(16, "hnsw", CONFIG)
    index.add(ids, vectors)
    allowed = [3, 50, 77, 400, 9999]
    hits = index.search(vectors[50], 3, candidates=allowed)
    assert hits[0] == (50, pytest.approx(1.0))
    expected = brute_force(vectors[[3, 50, 77, 400]], np.array([3, 50, 77, 400]), vectors[50], 3)
    assert [pid for pid, _ in hits] == expected
    assert index.search(vectors[0], 3, candidates=[9999]) == []


def test_a_broad_filter_walks_the_graph_admitting_only_allowed_live_entries() -> None:
    config = IndexConfig(hnsw_m=16, ef_construction=80, ef_search=64, graph_cost_ratio=0.01)
    vectors = unit_rows(3000, 32)
    ids = np.arange(10, 3010, dtype=np.int64)
    index = VectorIndex(32, "hnsw", config)
    index.add(ids, vectors)
    # Re-embed a few allowed papers: their old graph entries are dead and must never come back.
    index.add(ids[:30], unit_rows(30, 32, seed=4))
    allowed = np.sort(np.random.default_rng(1).choice(ids, size=1200, replace=False))
    assert index.plan_filtered(len(allowed), 10).method == "graph"
    current = {pid: index.vector(pid) for pid in allowed.tolist()}
    overlaps = []
    for query in unit_rows(20, 32, seed=9):
        hits = index.search(query, 10, candidates=allowed)
        assert len(hits) == 10 and len({pid for pid, _ in hits}) == 10
        assert all(pid in current for pid, _ in hits)
        # Scores are those of the current vectors, not of dead entries.
        assert all(score == pytest.approx(float(current[pid] @ query), abs=1e-5) for pid, score in hits)
        best = sorted(current, key=lambda pid: -float(current[pid] @ query))[:10]
        overlaps.append(len({pid for pid, _ in hits} & set(best)) / 10)
    assert np.mean(overlaps) >= 0.9


def test_candidates_given_as_an_array_or_a_set_give_the_same_answer() -> None:
    vectors = unit_rows(400, 16)
    ids = np.arange(400, dtype=np.int64) * 3
    index = VectorIndex(16, "exact", CONFIG)
    index.add(ids, vectors)
    allowed = [0, 3, 300, 1197, 5, -4, 10**12]
    as_array = index.search(vectors[100], 3, candidates=np.array(allowed, dtype=np.int64))
    assert as_array == index.search(vectors[100], 3, candidates=set(allowed))
    assert {pid for pid, _ in as_array} == {0, 3, 300}


def test_compacting_drops_dead_entries_and_can_change_the_kind() -> None:
    index = VectorIndex(16, "hnsw", CONFIG)
    ids = np.arange(3000, dtype=np.int64)
    index.add(ids, unit_rows(3000, 16))
    index.add(ids[:1500], unit_rows(1500, 16, seed=2))
    assert index.dead == 1500 and index.needs_compaction()
    exact = index.compacted("exact")
    assert exact.kind == "exact" and len(exact) == 3000 and exact.dead == 0
    np.testing.assert_allclose(exact.vector(10), index.vector(10))  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", ["exact", "hnsw"])
def test_a_snapshot_restores_the_same_answers(tmp_path: Path, kind: str) -> None:
    index = VectorIndex(16, kind, CONFIG)  # type: ignore[arg-type]
    index.add(np.arange(400, dtype=np.int64), unit_rows(400, 16))
    index.add(np.array([5], dtype=np.int64), unit_rows(1, 16, seed=3))
    write_snapshot(tmp_path, index, {"change_seq": 12, "space": "s"})
    loaded = read_snapshot(tmp_path, CONFIG)
    assert loaded is not None
    restored, meta = loaded
    assert meta["change_seq"] == 12 and meta["space"] == "s" and restored.kind == kind
    query = unit_rows(1, 16, seed=4)[0]
    assert restored.search(query, 10) == index.search(query, 10)
    assert len(restored) == 400


def test_a_missing_or_broken_snapshot_is_ignored(tmp_path: Path) -> None:
    assert read_snapshot(tmp_path, CONFIG) is None
    index = VectorIndex(4, "exact", CONFIG)
    index.add(np.array([1], dtype=np.int64), unit_rows(1, 4))
    path = write_snapshot(tmp_path, index, {"change_seq": 1})
    (path / "vectors.npy").write_bytes(b"not numpy")
    assert read_snapshot(tmp_path, CONFIG) is None


def test_rows_of_ids_inside_and_outside_the_lookup_are_their_rows_or_minus_one() -> None:
    lookup = row_lookup(np.array([7, -1, 3, 5, 0], dtype=np.int64))
    assert lookup is not None
    # All inside (one gather) and some outside (masked): the same rows for the same ids.
    assert rows_in(lookup, np.array([0, 3, 5, 7, 1], dtype=np.int64)).tolist() == [4, 2, 3, 0, -1]
    assert rows_in(lookup, np.array([0, 3, 9, -2, 7], dtype=np.int64)).tolist() == [4, 2, -1, -1, 0]
    assert rows_in(lookup, np.zeros(0, dtype=np.int64)).tolist() == []
