"""bench/filter_recall.py measures what it says: exact tops over the admitted rows, and a walk's recall of them."""

from __future__ import annotations

import dataclasses

import faiss
import numpy as np

from bench.filter_recall import FLOOR, exact_tops, score_all, walk
from papertide.search.semantic.admitted import Admitted, StoredRows
from papertide.search.semantic.lists import train_lists


def unit_rows(rng: np.random.Generator, count: int, dim: int = 16) -> np.ndarray:
    vectors = rng.standard_normal((count, dim)).astype(np.float32)
    normalised: np.ndarray = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    return normalised


def graph_over(vectors: np.ndarray, ids: np.ndarray) -> StoredRows:
    graph = faiss.IndexHNSWFlat(vectors.shape[1], 8, faiss.METRIC_INNER_PRODUCT)
    graph.add(vectors)
    return StoredRows(ids, None, graph)


def test_exact_tops_are_the_best_admitted_live_papers_best_first() -> None:
    rng = np.random.default_rng(1)
    vectors, queries = unit_rows(rng, 500), unit_rows(rng, 3)
    ids = np.arange(1000, 1500, dtype=np.int64)
    ids[7] = -1  # a dead row is never an answer
    mask = rng.random(500) < 0.3
    mask[7] = True
    tops = exact_tops(score_all(vectors, queries), ids, mask, 20)
    for column, (top_ids, top_scores) in enumerate(tops):
        rows = [r for r in range(500) if mask[r] and ids[r] >= 0]
        expected = sorted(rows, key=lambda r: -float(vectors[r] @ queries[column]))[:20]
        assert top_ids.tolist() == [int(ids[r]) for r in expected]
        assert np.all(np.diff(top_scores) <= 0)


def test_a_walk_as_wide_as_the_corpus_recalls_every_neighbour_and_a_one_wide_walk_does_not() -> None:
    rng = np.random.default_rng(2)
    vectors, queries = unit_rows(rng, 2000), unit_rows(rng, 10)
    ids = np.arange(1, 2001, dtype=np.int64)
    stored = graph_over(vectors, ids)
    mask = rng.random(2000) < 0.2
    admitted = Admitted.of(mask)
    exact = exact_tops(score_all(vectors, queries), ids, mask, 200)
    wide = walk(stored, queries, admitted, 200, 2000, exact)
    assert wide.recall == (1.0, 1.0, 1.0)
    assert wide.floor_recall == 1.0
    expected_above = np.mean([np.count_nonzero(scores >= FLOOR) for _, scores in exact])
    assert wide.above_floor == expected_above > 0
    narrow = walk(stored, queries, admitted, 200, 1, exact)
    assert narrow.recall[2] < 1.0


def test_a_scan_of_every_list_recalls_every_neighbour_and_a_scan_of_one_list_does_not() -> None:
    rng = np.random.default_rng(3)
    vectors, queries = unit_rows(rng, 2000), unit_rows(rng, 10)
    ids = np.arange(1, 2001, dtype=np.int64)
    stored = dataclasses.replace(graph_over(vectors, ids), lists=train_lists(vectors, ids >= 0))
    mask = rng.random(2000) < 0.2
    admitted = Admitted.of(mask)
    exact = exact_tops(score_all(vectors, queries), ids, mask, 200)
    everything = walk(stored, queries, admitted, 200, 2000, exact, scan=True)
    assert everything.recall == (1.0, 1.0, 1.0)
    one_list = walk(stored, queries, admitted, 200, 1, exact, scan=True)
    assert one_list.short == len(queries)  # one list of ~45 rows holds fewer than 200 admitted
