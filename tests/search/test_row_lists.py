"""Inverted lists over an HNSW graph's rows: a middling filter scans the nearest lists, not a wide walk (issue 13).

A filter passing a tenth of the papers made the graph walk ten times as wide as its ``k``. With
lists (lists.py), filtered.py picks a scan of the nearest lists for such a filter; these tests
check the choice, that a scan scores exactly the admitted rows of the lists it reads (and the rows
added after the lists were made), that it finds nearly all of the exact top k on clustered data,
and that snapshots write, read, extend and check their lists.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import faiss as faiss_module
import numpy as np
import numpy.typing as npt
import pytest

from papertide.search.semantic.admitted import Admitted, StoredRows, search_admitted
from papertide.search.semantic.filtered import choose_filtered_search
from papertide.search.semantic.index import IndexConfig, VectorIndex
from papertide.search.semantic.lists import (
    LIST_SCORED,
    ROWS_FILE,
    RowLists,
    extend_lists,
    list_count,
    train_lists,
)
from papertide.search.semantic.replica import ReplicaIndex
from papertide.search.semantic.snapshot import POINTER, read_snapshot, write_snapshot

faiss: Any = faiss_module
DIM = 32
ROWS = 30_000
K = 10
CONFIG = IndexConfig(kind="hnsw", hnsw_m=16, ef_construction=80, ef_search=64)


def clustered(rows: int, seed: int) -> npt.NDArray[np.float32]:
    """Unit vectors around 150 centres, as papers gather around topics."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((150, DIM)).astype(np.float32)
    vectors = centres[rng.integers(0, len(centres), rows)] + 0.5 * rng.standard_normal((rows, DIM)).astype(np.float32)
    unit: npt.NDArray[np.float32] = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    return unit


@pytest.fixture(scope="module")
def graph_index() -> tuple[VectorIndex, npt.NDArray[np.float32]]:
    vectors = clustered(ROWS, 1)
    index = VectorIndex(DIM, "hnsw", CONFIG)
    index.add(np.arange(1, ROWS + 1, dtype=np.int64), vectors)
    assert index.snapshot_lists() is not None  # what a snapshot of it stores, now also searched with
    return index, vectors


def test_a_middling_filter_scans_the_nearest_lists_where_there_are_lists() -> None:
    # A million papers, k = 200 (hybrid's fusion depth): the shares of bench/search.py's filters.
    def plan(allowed: int, lists: bool) -> str:
        return choose_filtered_search(
            allowed, 1_000_000, 200, "hnsw", ef_search=128, cost_ratio=12.0, lists=lists
        ).describe()

    assert plan(91_618, lists=True) == f"lists, {-(-LIST_SCORED * 200 * 1_000_000 // 91_618):,} rows"  # until
    assert plan(104_435, lists=True).startswith("lists")  # cat:cs.LG since:2024
    assert plan(91_618, lists=False) == "graph, width 2,183"  # no lists: the walk, as before
    assert plan(586_760, lists=True) == "graph, width 341"  # broad: the walk is narrow already
    assert plan(21_847, lists=True) == "exact"  # narrow: every admitted row is scored
    assert plan(9_951, lists=True) == "exact"
    # Lists that would have to be read whole are no scan at all.
    assert choose_filtered_search(2_000, 20_000, 200, "hnsw", ef_search=64, cost_ratio=12.0, lists=True).method == (
        "exact"
    )


def scanned_rows(lists: RowLists, query: npt.NDArray[np.float32], wanted: int, size: int) -> npt.NDArray[np.int64]:
    """The rows a scan should read, computed apart from lists.py: whole lists by centroid score, then the tail."""
    scores = np.asarray(lists.centroids) @ query
    rows: list[int] = []
    for position in np.argsort(-scores, kind="stable"):
        if len(rows) >= wanted:
            break
        rows += np.asarray(lists.rows)[lists.offsets[position] : lists.offsets[position + 1]].tolist()
    return np.array(sorted(rows + list(range(lists.covered, size))), dtype=np.int64)


def test_a_scan_scores_exactly_the_admitted_rows_of_the_lists_it_reads(
    graph_index: tuple[VectorIndex, npt.NDArray[np.float32]],
) -> None:
    index, vectors = graph_index
    stored = index._stored_rows()
    assert stored.lists is not None
    rng = np.random.default_rng(2)
    mask = rng.random(ROWS) < 0.1
    admitted = Admitted.of(mask)
    plan = index.plan_filtered(admitted.count, K)
    assert plan.method == "lists"
    recalls = []
    for number in range(40):
        query = vectors[rng.integers(ROWS)] + 0.3 * rng.standard_normal(DIM).astype(np.float32)
        query /= np.linalg.norm(query)
        found = search_admitted(
            query, K, stored, admitted, live=ROWS, ef_search=CONFIG.ef_search, cost_ratio=CONFIG.graph_cost_ratio
        )
        rows = scanned_rows(stored.lists, query, plan.width, ROWS)
        rows = rows[mask[rows]]
        scores = vectors[rows] @ query
        best = np.argsort(-scores, kind="stable")[:K]
        assert found.ids.tolist() == (rows[best] + 1).tolist(), number
        np.testing.assert_allclose(found.scores, scores[best], atol=1e-5)
        exact = np.flatnonzero(mask)[np.argsort(-(vectors[mask] @ query))[:K]] + 1
        recalls.append(len(np.intersect1d(found.ids, exact)) / K)
    # Lists near the query hold its nearest admitted neighbours: nearly all of the exact top 10.
    assert np.mean(recalls) >= 0.95


def test_rows_added_after_the_lists_are_read_by_every_scan(
    graph_index: tuple[VectorIndex, npt.NDArray[np.float32]],
) -> None:
    base, _ = graph_index
    ids, _, graph = base.arrays()
    index = VectorIndex.from_arrays(DIM, "hnsw", CONFIG, ids, None, faiss.clone_index(graph), base.snapshot_lists())
    rng = np.random.default_rng(5)
    query = rng.standard_normal(DIM).astype(np.float32)
    query /= np.linalg.norm(query)
    # Fifty new papers next to the query, far from every centroid's rows: only the tail rule finds them.
    added = query + 0.05 * rng.standard_normal((50, DIM)).astype(np.float32)
    added /= np.linalg.norm(added, axis=1, keepdims=True)
    new_ids = np.arange(ROWS + 1, ROWS + 51, dtype=np.int64)
    index.add(new_ids, added)
    allowed = np.concatenate([np.arange(1, ROWS + 1, 10, dtype=np.int64), new_ids[::2]])
    assert index.plan_filtered(len(allowed), K).method == "lists"
    found = index.nearest(query, K, allowed)
    scores = added[::2] @ query
    assert set(found.ids.tolist()) == set(new_ids[::2][np.argsort(-scores)[:K]].tolist())


def test_lists_cover_every_row_once_and_extend_with_new_rows() -> None:
    vectors = clustered(5_000, 3)
    live = np.ones(5_000, dtype=bool)
    live[::7] = False  # dead rows are listed too (a filter never admits them)
    lists = train_lists(vectors[:4_000], live[:4_000])
    assert lists.count == list_count(int(np.count_nonzero(live[:4_000]))) == 59  # trained on the live rows
    assert sorted(np.asarray(lists.rows).tolist()) == list(range(4_000))
    assignment = lists.assignment()
    # Each row sits in the list of its nearest centroid.
    np.testing.assert_array_equal(assignment, np.argmax(vectors[:4_000] @ np.asarray(lists.centroids).T, axis=1))
    extended = extend_lists(lists, vectors)
    np.testing.assert_array_equal(extended.centroids, lists.centroids)  # not trained again
    np.testing.assert_array_equal(extended.assignment()[:4_000], assignment)
    np.testing.assert_array_equal(
        extended.assignment()[4_000:], np.argmax(vectors[4_000:] @ np.asarray(lists.centroids).T, axis=1)
    )
    for number in range(extended.count):
        chunk = np.asarray(extended.rows)[extended.offsets[number] : extended.offsets[number + 1]]
        assert np.all(np.diff(chunk) > 0)  # ascending within a list


def test_a_snapshot_keeps_its_lists_and_its_merge_extends_them(tmp_path: Path) -> None:
    vectors = clustered(3_000, 4)
    memory = VectorIndex(DIM, "hnsw", CONFIG)
    memory.add(np.arange(1, 2_501, dtype=np.int64), vectors[:2_500])
    write_snapshot(tmp_path, memory, {"change_seq": 1})
    loaded = read_snapshot(tmp_path, CONFIG)
    assert loaded is not None
    mapped, meta = loaded
    assert mapped.lists is not None and meta["lists"] == list_count(2_500)
    assert mapped.lists.covered == 2_500
    replica = ReplicaIndex(DIM, CONFIG, mapped, "hnsw")
    replica.add(np.arange(2_001, 3_001, dtype=np.int64), vectors[2_000:3_000])  # 500 again, 500 new
    merged = replica.merged()
    lists = merged.snapshot_lists()
    assert lists is not None and lists.covered == 3_500  # 2,500 rows carried (500 now dead) and 1,000 added
    np.testing.assert_array_equal(lists.centroids, mapped.lists.centroids)


def test_a_snapshot_without_lists_or_with_broken_ones_walks_the_graph_and_gets_new_lists(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    vectors = clustered(3_000, 6)
    memory = VectorIndex(DIM, "hnsw", CONFIG)
    memory.add(np.arange(1, 3_001, dtype=np.int64), vectors)
    folder = write_snapshot(tmp_path, memory, {"change_seq": 1})
    rows = np.load(folder / ROWS_FILE)
    rows[17] = 3_000  # one row past the end: faiss would read outside the vectors
    np.save(folder / ROWS_FILE, rows)
    with caplog.at_level(logging.WARNING):
        loaded = read_snapshot(tmp_path, CONFIG)
    assert loaded is not None
    mapped = loaded[0]
    assert mapped.lists is None
    assert "inverted lists" in caplog.text and "outside 0..2999" in caplog.text
    replica = ReplicaIndex(DIM, CONFIG, mapped, "hnsw")
    found = replica.search(vectors[40], 1, list(range(1, 3_001, 10)))
    assert found[0][0] == 41  # paper 41 holds vectors[40] and is allowed
    # The writer's next maintenance step writes a snapshot with lists.
    assert replica.needs_merge(limit=1_000)
    write_snapshot(tmp_path, replica.merged(), {"change_seq": 2})
    meta = json.loads((tmp_path / json.loads((tmp_path / POINTER).read_text())["snapshot"] / "meta.json").read_text())
    assert meta["lists"] == list_count(3_000)
    reread = read_snapshot(tmp_path, CONFIG)
    assert reread is not None and reread[0].lists is not None
    assert not ReplicaIndex(DIM, CONFIG, reread[0], "hnsw").needs_merge(limit=1_000)


def test_stored_rows_without_lists_search_as_before() -> None:
    vectors = clustered(2_000, 8)
    graph = faiss.IndexHNSWFlat(DIM, 8, faiss.METRIC_INNER_PRODUCT)
    graph.add(vectors)
    stored = StoredRows(np.arange(2_000, dtype=np.int64), None, graph)
    mask = np.zeros(2_000, dtype=bool)
    mask[::5] = True
    found = search_admitted(vectors[10], 5, stored, Admitted.of(mask), live=2_000, ef_search=64, cost_ratio=0.01)
    assert found.ids[0] == 10
