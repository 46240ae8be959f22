"""Inverted lists over an HNSW graph's rows: a middling filter scans the nearest lists, not a wide walk (issue 13).

A filter passing a tenth of the papers made the graph walk ten times as wide as its ``k``. With
lists (lists.py), filtered.py picks a scan of the nearest lists for such a filter; these tests
check the choice, that a scan scores exactly the admitted rows of the lists it reads (and the rows
added after the lists were made), that it finds nearly all of the exact top k on clustered data,
and that snapshots write, read, extend and check their lists.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
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
    CENTROIDS_FILE,
    LISTS_MIN_ROWS,
    OFFSETS_FILE,
    RECALL_TARGETS,
    ROWS_FILE,
    RowLists,
    extend_lists,
    list_count,
    rows_to_read,
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


# Admitted rows a scan scores, fixed where a test needs to know how many rows a scan reads.
SCORED = 320.0


@pytest.fixture(scope="module")
def graph_index() -> tuple[VectorIndex, npt.NDArray[np.float32]]:
    vectors = clustered(ROWS, 1)
    index = VectorIndex(DIM, "hnsw", CONFIG)
    index.add(np.arange(1, ROWS + 1, dtype=np.int64), vectors)
    lists = index.snapshot_lists()  # what a snapshot of it stores, now also searched with
    assert lists is not None
    index._lists = dataclasses.replace(lists, scored=SCORED)
    return index, vectors


def test_a_middling_filter_scans_the_nearest_lists_where_there_are_lists() -> None:
    # A million papers, k = 200 (hybrid's fusion depth): the shares of bench/search.py's filters.
    def plan(allowed: int, lists: float | None = 6_400.0) -> str:
        return choose_filtered_search(
            allowed, 1_000_000, 200, "hnsw", ef_search=128, cost_ratio=12.0, lists=lists
        ).describe()

    assert plan(91_618) == f"lists, {-(-6_400 * 2 * 1_000_000 // 91_618):,} rows"  # until, k = 200: twice the rows
    assert plan(104_435).startswith("lists")  # cat:cs.LG since:2024
    assert plan(91_618, lists=None) == "graph, width 2,183"  # no lists: the walk, as before
    assert plan(91_618, lists=math.inf) == "graph, width 2,183"  # lists that never match the walk's recall
    assert plan(91_618, lists=15_000.0) == "graph, width 2,183"  # lists needing a third of the rows
    assert plan(586_760) == "graph, width 341"  # broad: the walk is narrow already
    assert plan(21_847) == "exact"  # narrow: every admitted row is scored
    assert plan(9_951) == "exact"
    # Lists that would have to be read whole are no scan at all.
    assert choose_filtered_search(2_000, 20_000, 200, "hnsw", ef_search=64, cost_ratio=12.0, lists=6_400.0).method == (
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
    lists = base._lists
    index = VectorIndex.from_arrays(DIM, "hnsw", CONFIG, ids, None, faiss.clone_index(graph), lists)
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
    assert lists.scored >= 100  # calibrated against RECALL_TARGETS alone (no graph given): at least 100 scored
    assert lists.count == list_count(int(np.count_nonzero(live[:4_000]))) == 59  # trained on the live rows
    assert sorted(np.asarray(lists.rows).tolist()) == list(range(4_000))
    assignment = lists.assignment()
    # Each row sits in the list of its nearest centroid.
    np.testing.assert_array_equal(assignment, np.argmax(vectors[:4_000] @ np.asarray(lists.centroids).T, axis=1))
    extended = extend_lists(lists, vectors, live)
    np.testing.assert_array_equal(extended.centroids, lists.centroids)  # not trained again
    np.testing.assert_array_equal(extended.assignment()[:4_000], assignment)
    np.testing.assert_array_equal(
        extended.assignment()[4_000:], np.argmax(vectors[4_000:] @ np.asarray(lists.centroids).T, axis=1)
    )
    for number in range(extended.count):
        chunk = np.asarray(extended.rows)[extended.offsets[number] : extended.offsets[number + 1]]
        assert np.all(np.diff(chunk) > 0)  # ascending within a list


def test_a_snapshot_keeps_its_lists_and_its_merge_extends_them(tmp_path: Path) -> None:
    vectors = clustered(13_000, 4)
    memory = VectorIndex(DIM, "hnsw", CONFIG)
    memory.add(np.arange(1, 12_501, dtype=np.int64), vectors[:12_500])
    write_snapshot(tmp_path, memory, {"change_seq": 1})
    loaded = read_snapshot(tmp_path, CONFIG)
    assert loaded is not None
    mapped, meta = loaded
    assert mapped.lists is not None and meta["lists"] == list_count(12_500)
    assert meta["list_scored"] == mapped.lists.scored >= 10
    assert mapped.lists.covered == 12_500
    replica = ReplicaIndex(DIM, CONFIG, mapped, "hnsw")
    replica.add(np.arange(12_001, 13_001, dtype=np.int64), vectors[12_000:13_000])  # 500 again, 500 new
    merged = replica.merged()
    lists = merged.snapshot_lists()
    assert lists is not None and lists.covered == 13_500  # 12,500 rows carried (500 now dead) and 1,000 added
    np.testing.assert_array_equal(lists.centroids, mapped.lists.centroids)


def test_a_snapshot_without_lists_or_with_broken_ones_walks_the_graph_and_gets_new_lists(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    vectors = clustered(12_000, 6)
    memory = VectorIndex(DIM, "hnsw", CONFIG)
    memory.add(np.arange(1, 12_001, dtype=np.int64), vectors)
    folder = write_snapshot(tmp_path, memory, {"change_seq": 1})
    rows = np.load(folder / ROWS_FILE)
    rows[17] = 12_000  # one row past the end: faiss would read outside the vectors
    np.save(folder / ROWS_FILE, rows)
    with caplog.at_level(logging.WARNING):
        loaded = read_snapshot(tmp_path, CONFIG)
    assert loaded is not None
    mapped = loaded[0]
    assert mapped.lists is None
    assert "inverted lists" in caplog.text and "outside 0..11999" in caplog.text
    replica = ReplicaIndex(DIM, CONFIG, mapped, "hnsw")
    found = replica.search(vectors[40], 1, list(range(1, 12_001, 10)))
    assert found[0][0] == 41  # paper 41 holds vectors[40] and is allowed
    # The writer's next maintenance step writes a snapshot with lists.
    assert replica.needs_merge(limit=1_000)
    write_snapshot(tmp_path, replica.merged(), {"change_seq": 2})
    meta = json.loads((tmp_path / json.loads((tmp_path / POINTER).read_text())["snapshot"] / "meta.json").read_text())
    assert meta["lists"] == list_count(12_000)
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


def held_out_recall(vectors: npt.NDArray[np.float32], lists: RowLists, queries: npt.NDArray[np.float32]) -> float:
    """Mean recall@10 of a scan at the calibrated rows for a random tenth allowed, against exact search."""
    graph = faiss.IndexHNSWFlat(DIM, 16, faiss.METRIC_INNER_PRODUCT)
    graph.add(vectors)
    stored = StoredRows(np.arange(len(vectors), dtype=np.int64), None, graph, lists)
    mask = np.random.default_rng(11).random(len(vectors)) < 0.1
    admitted = Admitted.of(mask)
    rows = math.ceil(rows_to_read(lists.scored, 10, float(mask.mean())))
    recalls = []
    for query in queries:
        from papertide.search.semantic.admitted import _scan_lists

        found = _scan_lists(query, 10, stored, admitted, rows)
        exact = np.flatnonzero(mask)[np.argsort(-(vectors[mask] @ query))[:10]]
        recalls.append(len(np.intersect1d(found.ids, exact)) / 10)
    return float(np.mean(recalls))


def test_calibration_reads_as_many_rows_as_the_data_needs() -> None:
    # Papers around topics: a few lists hold a query's neighbours.
    topical = clustered(ROWS, 9)
    lists = train_lists(topical, np.ones(ROWS, dtype=bool))
    rng = np.random.default_rng(12)
    near = topical[rng.integers(0, ROWS, 40)] + 0.3 * rng.standard_normal((40, DIM)).astype(np.float32)
    near /= np.linalg.norm(near, axis=1, keepdims=True)
    # Held-out queries near the data get what the calibration promised (its target at 10, less sampling noise).
    assert held_out_recall(topical, lists, near) >= RECALL_TARGETS[0][1] - 0.03
    # Vectors with no topics (uniform on the sphere): neighbours spread over every list, so the same
    # recall needs far more rows per neighbour, and a middling filter keeps the graph's walk.
    spread = np.random.default_rng(10).standard_normal((ROWS, DIM)).astype(np.float32)
    spread /= np.linalg.norm(spread, axis=1, keepdims=True)
    uniform = train_lists(spread, np.ones(ROWS, dtype=bool))
    assert uniform.scored > 3 * lists.scored
    plan = choose_filtered_search(3_000, ROWS, 10, "hnsw", ef_search=64, cost_ratio=12.0, lists=uniform.scored)
    assert plan.method != "lists"


def test_calibration_matches_the_graph_walk_where_it_finds_less_than_the_targets() -> None:
    vectors = clustered(ROWS, 13)
    live = np.ones(ROWS, dtype=bool)
    weak = faiss.IndexHNSWFlat(DIM, 4, faiss.METRIC_INNER_PRODUCT)  # a poor graph: its walks miss neighbours
    weak.hnsw.efConstruction = 8
    weak.add(vectors)
    against_weak = train_lists(vectors, live, weak, 8)
    alone = train_lists(vectors, live)
    # A scan only has to find what the walk it replaces finds: fewer rows than for the fixed targets.
    assert against_weak.scored < alone.scored


@pytest.mark.parametrize("scored", [-1, 0.5, "many", True])
def test_a_snapshot_with_a_bad_calibration_walks_the_graph(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, scored: object
) -> None:
    memory = VectorIndex(DIM, "hnsw", CONFIG)
    memory.add(np.arange(1, 12_001, dtype=np.int64), clustered(12_000, 14))
    folder = write_snapshot(tmp_path, memory, {"change_seq": 1})
    meta = json.loads((folder / "meta.json").read_text())
    (folder / "meta.json").write_text(json.dumps({**meta, "list_scored": scored}))
    with caplog.at_level(logging.WARNING):
        loaded = read_snapshot(tmp_path, CONFIG)
    assert loaded is not None and loaded[0].lists is None
    assert "list_scored" in caplog.text


def test_a_small_graph_has_no_lists_and_is_not_merged_again_for_them(tmp_path: Path) -> None:
    memory = VectorIndex(DIM, "hnsw", CONFIG)
    memory.add(np.arange(1, LISTS_MIN_ROWS, dtype=np.int64), clustered(LISTS_MIN_ROWS - 1, 15))
    folder = write_snapshot(tmp_path, memory, {"change_seq": 1})
    assert "lists" not in json.loads((folder / "meta.json").read_text())
    assert not (folder / ROWS_FILE).exists()
    loaded = read_snapshot(tmp_path, CONFIG)
    assert loaded is not None and loaded[0].lists is None
    replica = ReplicaIndex(DIM, CONFIG, loaded[0], "hnsw")
    assert not replica.lacks_lists and not replica.needs_merge(limit=1_000)


def _offsets_past_the_end(folder: Path) -> None:
    offsets = np.load(folder / OFFSETS_FILE)
    offsets[-1] += 5
    np.save(folder / OFFSETS_FILE, offsets)


def _offsets_out_of_order(folder: Path) -> None:
    offsets = np.load(folder / OFFSETS_FILE)
    offsets[3], offsets[4] = offsets[4], offsets[3] - 1
    np.save(folder / OFFSETS_FILE, offsets)


def _rows_as_floats(folder: Path) -> None:
    np.save(folder / ROWS_FILE, np.load(folder / ROWS_FILE).astype(np.float64))


def _centroids_of_another_dimension(folder: Path) -> None:
    np.save(folder / CENTROIDS_FILE, np.load(folder / CENTROIDS_FILE)[:, :16].copy())


def _centroids_truncated(folder: Path) -> None:
    (folder / CENTROIDS_FILE).write_bytes((folder / CENTROIDS_FILE).read_bytes()[:100])


def _rows_missing(folder: Path) -> None:
    (folder / ROWS_FILE).unlink()


@pytest.mark.parametrize(
    "corrupt",
    [
        _offsets_past_the_end,
        _offsets_out_of_order,
        _rows_as_floats,
        _centroids_of_another_dimension,
        _centroids_truncated,
        _rows_missing,
    ],
)
def test_damaged_lists_are_set_aside_with_a_warning_and_the_graph_still_answers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, corrupt: Any
) -> None:
    vectors = clustered(12_000, 16)
    memory = VectorIndex(DIM, "hnsw", CONFIG)
    memory.add(np.arange(1, 12_001, dtype=np.int64), vectors)
    corrupt(write_snapshot(tmp_path, memory, {"change_seq": 1}))
    with caplog.at_level(logging.WARNING):
        loaded = read_snapshot(tmp_path, CONFIG)
    assert loaded is not None and loaded[0].lists is None
    assert "inverted lists in" in caplog.text and "filters walk the graph" in caplog.text
    replica = ReplicaIndex(DIM, CONFIG, loaded[0], "hnsw")
    assert replica.search(vectors[99], 1, list(range(100, 12_001, 10)))[0][0] == 100
