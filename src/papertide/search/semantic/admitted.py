"""Nearest neighbours among the admitted rows of a stored index: one implementation for every index.

An in-memory index (index.py) and a memory-mapped snapshot (mapped.py) both hold rows of vectors,
each with a paper id (-1: a dead row), as a matrix (exact) or a faiss HNSW graph. A search that
may not return every row (a filter's papers, issue 13; the dead rows; the snapshot rows of papers
embedded again since, issue 14) marks the rows it admits in one bitmap that faiss reads in place:
the graph is walked admitting only them, the admitted rows of its flat storage are scored
exactly (by their list, visiting no other row), or only those of the inverted lists nearest the
query (lists.py), whichever filtered.py predicts cheaper. Nothing
is fetched and then discarded, and no copy of the admitted vectors is gathered (2 to 4 times
faster than numpy's gather and product, measured).
The bitmap is packed once per admitted set (``Admitted``): bitmaps.py keeps those of recent filters,
since building one over a million rows costs more than the graph walk of a broad filter (issue 13).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from papertide.search.ranked import Ranked
from papertide.search.semantic.filtered import choose_filtered_search
from papertide.search.semantic.lists import RowLists, scored_of
from papertide.search.semantic.passages import Vectors

Pairs = list[tuple[int, float]]
Mask = npt.NDArray[np.bool_]
EMPTY_ROWS = np.zeros(0, dtype=np.int64)
EMPTY_ROWS.flags.writeable = False


def select_top_arrays(
    scores: npt.NDArray[np.float32], ids: npt.NDArray[np.int64], k: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    """The ``k`` highest scores and their ids as arrays, best first (ties by id)."""
    if k <= 0 or len(scores) == 0:
        return EMPTY_ROWS, np.zeros(0, dtype=np.float32)
    if len(scores) > k:
        keep = np.argpartition(-scores, k - 1)[:k]
        scores, ids = scores[keep], ids[keep]
    order = np.lexsort((ids, -scores))
    return ids[order], scores[order]


def select_top(scores: npt.NDArray[np.float32], ids: npt.NDArray[np.int64], k: int) -> Ranked:
    """The ``k`` highest scores with their ids, best first (ties by id)."""
    # Arrays, not objects: a semantic search reads up to 1,000 neighbours (issues 9, 13).
    return Ranked.of(*select_top_arrays(scores, ids, k))


def id_array(paper_ids: Collection[int]) -> npt.NDArray[np.int64]:
    """``paper_ids`` as an int64 array (no copy when it is one already)."""
    if isinstance(paper_ids, np.ndarray):
        return np.asarray(paper_ids, dtype=np.int64)
    return np.fromiter(paper_ids, dtype=np.int64, count=len(paper_ids))


def row_lookup(ids: npt.NDArray[np.int64]) -> npt.NDArray[np.int64] | None:
    """The row of each paper id (-1: none), as an array indexed by id; None when the ids are too sparse for one.

    Looking up a broad filter's ids is then one gather (a 400,000-id filter among a million
    papers: under 3 ms, against 30 ms for a binary search of the sorted ids, measured).
    """
    top = int(ids.max()) + 1 if len(ids) else 0
    if top > 8 * len(ids) + 1_000_000:
        return None
    live = np.flatnonzero(ids >= 0)
    lookup = np.full(top, -1, dtype=np.int64)
    lookup[ids[live]] = live
    return lookup


def rows_in(lookup: npt.NDArray[np.int64], paper_ids: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """The row of each of ``paper_ids`` in ``lookup`` (row_lookup), -1 where there is none."""
    if len(paper_ids) and int(paper_ids.min()) >= 0 and int(paper_ids.max()) < len(lookup):
        # Every id inside the lookup (a filter's ids as of the snapshot): one gather, no masks
        # (91,618 ids at a million papers: 0.57 -> 0.2 ms).
        found: npt.NDArray[np.int64] = lookup[paper_ids]
        return found
    rows = np.full(len(paper_ids), -1, dtype=np.int64)
    inside = (paper_ids >= 0) & (paper_ids < len(lookup))
    rows[inside] = lookup[paper_ids[inside]]
    return rows


@dataclass(frozen=True, slots=True)
class StoredRows:
    """What an index searches: the paper id of each row (-1: dead) and their ``matrix`` (exact) or HNSW ``graph``.

    ``lists``: a graph's rows grouped by nearest centroid (lists.py), None where there are none.
    """

    ids: npt.NDArray[np.int64]
    matrix: Vectors | None
    graph: Any
    lists: RowLists | None = None


def row_vectors(stored: StoredRows, dim: int) -> Vectors:
    """Every row's vector, dead ones included: the matrix, or a view of the graph's flat storage (never a copy)."""
    if stored.matrix is not None:
        return stored.matrix
    import faiss

    flat: Any = faiss.downcast_index(stored.graph.storage)
    data = faiss.rev_swig_ptr(flat.get_xb(), len(stored.ids) * dim)
    view: Vectors = np.asarray(data).reshape(len(stored.ids), dim)
    return view


def admit(size: int, rows: npt.NDArray[np.int64], hidden: npt.NDArray[np.int64] = EMPTY_ROWS) -> Mask:
    """The mask of ``size`` rows that admits ``rows`` less the ``hidden`` ones."""
    admitted = np.zeros(size, dtype=bool)
    admitted[rows] = True
    admitted[hidden] = False
    return admitted


# Up to this share of the rows admitted, ``Admitted`` keeps their list too: such sets are scored exactly
# (filtered.py's choice sits near 4-5 % at a million rows), which reads the list, and it is small (at most
# 400 KB at a million rows) where unpacking it from the bitmap anew cost ~1.5-2 ms a search.
KEEP_ROWS_SHARE = 0.05


@dataclass(frozen=True, slots=True)
class Admitted:
    """The rows a search may return, as the bitmap faiss reads in place (bit ``i``: row ``i``), and how many.

    ``kept_rows``: the same rows in ascending order when few (``KEEP_ROWS_SHARE``), else None.
    """

    bitmap: npt.NDArray[np.uint8]
    count: int
    size: int
    kept_rows: npt.NDArray[np.int64] | None = None

    @classmethod
    def of(cls, mask: Mask) -> Admitted:
        """Pack ``mask`` (read-only once packed: bitmaps.py shares it between searches and threads)."""
        bitmap = np.packbits(mask, bitorder="little")
        bitmap.flags.writeable = False
        count = int(np.count_nonzero(mask))
        kept = None
        if count <= KEEP_ROWS_SHARE * len(mask):
            kept = np.flatnonzero(mask)
            kept.flags.writeable = False
        return cls(bitmap, count, len(mask), kept)

    def rows(self) -> npt.NDArray[np.int64]:
        """The admitted rows in ascending order."""
        if self.kept_rows is not None:
            return self.kept_rows
        return np.flatnonzero(np.unpackbits(self.bitmap, count=self.size, bitorder="little"))


def search_admitted(
    query: Vectors,
    k: int,
    stored: StoredRows,
    admitted: Admitted | None,
    *,
    live: int,
    ef_search: int,
    cost_ratio: float,
) -> Ranked:
    """The ``k`` admitted rows with the highest inner product, best first.

    :param admitted: the rows that may be returned (never a dead one); None admits every row.
    :param live: the index's live entries, against which filtered.py weighs the admitted share.
    :param ef_search: the graph's unfiltered search width; ``cost_ratio``: IndexConfig.graph_cost_ratio.
    """
    allowed = len(stored.ids) if admitted is None else admitted.count
    if k <= 0 or allowed == 0:
        return Ranked.empty()
    if stored.graph is None:
        assert stored.matrix is not None
        if admitted is None:
            return select_top(stored.matrix @ query, stored.ids, k)
        rows = admitted.rows()
        if 4 * allowed > len(stored.ids):
            # Most rows admitted: one product over the whole matrix beats gathering the admitted rows.
            return select_top((stored.matrix @ query)[rows], stored.ids[rows], k)
        return select_top(stored.matrix[rows] @ query, stored.ids[rows], k)
    wanted = min(k, allowed)
    if admitted is None:
        return _search_graph(query, wanted, stored, None, max(ef_search, k))
    plan = choose_filtered_search(
        allowed,
        max(live, allowed),
        k,
        "hnsw",
        ef_search=ef_search,
        cost_ratio=cost_ratio,
        lists=scored_of(stored.lists),
    )
    if plan.method != "exact":
        if plan.method == "lists":
            found = _scan_lists(query, wanted, stored, admitted, plan.width)
        else:
            found = _search_graph(query, wanted, stored, admitted, plan.width)
        # A walk or a scan that ends with fewer than it could have found is answered exactly instead.
        if len(found) >= wanted:
            return found
    return _search_graph(query, wanted, stored, admitted, None)


def _search_graph(query: Vectors, k: int, stored: StoredRows, admitted: Admitted | None, width: int | None) -> Ranked:
    """Walk the graph at search ``width``, or score its flat storage exactly (None), admitting only ``admitted``."""
    import faiss as faiss_module

    # The bundled type stubs lack the search-parameter classes.
    faiss: Any = faiss_module
    if width is None and admitted is not None:
        flat = faiss.downcast_index(stored.graph.storage)
        if flat.metric_type == faiss.METRIC_INNER_PRODUCT:
            return _score_rows(query, k, stored, admitted.rows(), flat)
    # Search parameters, not the graph's efSearch: concurrent searches never change shared state.
    parameters = faiss.SearchParameters() if width is None else faiss.SearchParametersHNSW(efSearch=width)
    if admitted is not None:
        bitmap = admitted.bitmap
        # faiss reads the bitmap in place (its size is in bytes): ``bitmap`` and ``selector`` outlive the search.
        selector = faiss.IDSelectorBitmap(len(bitmap), faiss.swig_ptr(bitmap))
        parameters.sel = selector
    searched = stored.graph if width is not None else faiss.downcast_index(stored.graph.storage)
    scores, labels = searched.search(query[None, :], k, params=parameters)
    return _ranked_rows(stored, labels[0], scores[0])


def _scan_lists(query: Vectors, k: int, stored: StoredRows, admitted: Admitted, wanted_rows: int) -> Ranked:
    """The ``k`` best admitted rows among the lists nearest ``query`` holding about ``wanted_rows`` rows.

    Each row number read is tested against the filter's bitmap in bulk; only the admitted rows'
    vectors are read and scored, exactly, in ascending row order (as the exact path scores them).
    Fewer than ``k`` admitted rows found: the caller scores every admitted row instead.
    """
    import faiss as faiss_module

    faiss: Any = faiss_module
    flat = faiss.downcast_index(stored.graph.storage)
    if stored.lists is None or flat.metric_type != faiss.METRIC_INNER_PRODUCT:
        return Ranked.empty()
    rows = stored.lists.nearest_rows(query, wanted_rows, len(stored.ids))
    bits = admitted.bitmap[rows >> 3] >> (rows & 7).astype(np.uint8)
    kept = np.sort(rows[(bits & 1).astype(bool)])
    if len(kept) < k:
        return Ranked.empty()
    return _score_rows(query, k, stored, kept, flat)


def _score_rows(query: Vectors, k: int, stored: StoredRows, admitted_rows: npt.NDArray[np.int64], flat: Any) -> Ranked:
    """The ``k`` best of ``admitted_rows`` (ascending) of the graph's flat (inner product) storage, scoring only them.

    The flat index's own search with the bitmap selector tests every row of the index for
    membership before scoring the admitted ones: at a million rows, 10.1 ms for 22,000 admitted
    rows against 4.9 here, 3.2 against 1.0 for 10,000 (issue 13). faiss's
    ``knn_inner_products_by_idx`` takes the same inner-product kernel and the same heap over the
    rows in the same ascending order, so the scores and their order are the same, bit for bit.
    """
    import faiss as faiss_module

    faiss: Any = faiss_module  # the bundled type stubs lack knn_inner_products_by_idx
    rows = np.ascontiguousarray(admitted_rows, dtype=np.int64)
    vector = np.ascontiguousarray(query, dtype=np.float32)
    scores = np.empty(k, dtype=np.float32)
    labels = np.empty(k, dtype=np.int64)
    faiss.knn_inner_products_by_idx(
        faiss.swig_ptr(vector),
        flat.get_xb(),
        faiss.swig_ptr(rows),
        flat.d,
        1,
        flat.ntotal,
        len(rows),
        k,
        faiss.swig_ptr(scores),
        faiss.swig_ptr(labels),
        -1,
    )
    return _ranked_rows(stored, labels, scores)


def _ranked_rows(stored: StoredRows, rows: npt.NDArray[np.int64], scores: npt.NDArray[np.float32]) -> Ranked:
    """Rows found (-1: none) and their scores as paper ids, dead rows left out."""
    found = rows >= 0
    # One gather for every row (a memory-mapped id array costs microseconds per single read).
    ids = np.asarray(stored.ids)[rows[found]]
    live = ids >= 0
    return Ranked.of(ids[live], scores[found][live])
