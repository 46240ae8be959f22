"""Exact scoring of a filter's admitted rows visits only them and answers as the flat index does (issue 13).

The flat storage of an HNSW graph used to be searched with a bitmap selector, which tests every
row of the index for membership; admitted.py now scores the admitted rows alone (faiss
``knn_inner_products_by_idx``). The reference here is the flat index's own selector search:
the same ids, the same scores bit for bit, in the same order, with dead rows, duplicate
vectors (exact ties) and more rows asked for than admitted.
"""

from __future__ import annotations

from typing import Any

import faiss as faiss_module
import numpy as np
import numpy.typing as npt
import pytest

from papertide.search.semantic.admitted import KEEP_ROWS_SHARE, Admitted, StoredRows, search_admitted

faiss: Any = faiss_module
DIM = 24
ROWS = 3_000


def stored_rows() -> tuple[StoredRows, npt.NDArray[np.float32]]:
    rng = np.random.default_rng(13)
    vectors = rng.standard_normal((ROWS, DIM)).astype(np.float32)
    vectors[1500:1600] = vectors[100:200]  # a hundred exact duplicates: tied scores
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    graph = faiss.IndexHNSWFlat(DIM, 8, faiss.METRIC_INNER_PRODUCT)
    graph.add(vectors)
    ids = np.arange(10_000, 10_000 + ROWS, dtype=np.int64)
    ids[::37] = -1  # dead rows
    return StoredRows(ids=ids, matrix=None, graph=graph), vectors


def flat_with_selector(stored: StoredRows, admitted: Admitted, query: npt.NDArray[np.float32], k: int) -> list[Any]:
    """What the flat index's own search with the bitmap selector answers, as (paper id, score)."""
    parameters = faiss.SearchParameters()
    parameters.sel = faiss.IDSelectorBitmap(len(admitted.bitmap), faiss.swig_ptr(admitted.bitmap))
    scores, labels = faiss.downcast_index(stored.graph.storage).search(query[None, :], k, params=parameters)
    return [
        (int(stored.ids[row]), float(score))
        for row, score in zip(labels[0], scores[0], strict=True)
        if row >= 0 and stored.ids[row] >= 0
    ]


@pytest.mark.parametrize("share", [0.004, 0.02, 0.05, 0.3])
def test_exact_scoring_of_admitted_rows_answers_as_the_flat_index_with_a_selector(share: float) -> None:
    stored, vectors = stored_rows()
    rng = np.random.default_rng(int(share * 1000))
    mask = rng.random(ROWS) < share
    mask[100:200] = mask[1500:1600] = True  # the duplicates admitted: ties among the answers
    mask &= stored.ids >= 0  # a dead row is never admitted (search_admitted's contract)
    admitted = Admitted.of(mask)
    for number in range(30):
        # Some queries are stored vectors themselves: their duplicates tie at the top.
        query = vectors[100 + number] if number % 3 == 0 else rng.standard_normal(DIM).astype(np.float32)
        for k in (10, 200, admitted.count + 50):
            found = search_admitted(query, k, stored, admitted, live=ROWS, ef_search=16, cost_ratio=1e9)
            assert list(found.pairs()) == flat_with_selector(stored, admitted, query, min(k, admitted.count))


def test_a_few_admitted_rows_are_kept_as_a_list_and_many_are_not() -> None:
    few = np.zeros(10_000, dtype=bool)
    few[:: int(1 / KEEP_ROWS_SHARE)] = True
    many = np.zeros(10_000, dtype=bool)
    many[::3] = True
    kept = Admitted.of(few)
    assert kept.kept_rows is not None and not kept.kept_rows.flags.writeable
    assert np.array_equal(kept.rows(), np.flatnonzero(few))
    assert Admitted.of(many).kept_rows is None
    assert np.array_equal(Admitted.of(many).rows(), np.flatnonzero(many))
