"""A saved vector index opened memory-mapped and read-only, so every process on a host shares its pages.

The snapshot's files (snapshot.py) are mapped, not read: the matrix of an exact index with
``numpy.load(mmap_mode="r")``, an HNSW graph and its vectors with faiss's
``IO_FLAG_MMAP_IFC`` (faiss >= 1.11 maps both the flat vectors and the graph's neighbour
lists). Four web processes searching one snapshot hold one copy in the page cache instead of
four on the heap (issue 14, bench/replicas.py). A mapped faiss index must never be added to:
faiss aborts the process on it, so this class has no ``add``; changes since the snapshot live
in the replica's in-memory delta (replica.py). Searches run in place through admitted.py, as
for the in-memory index: rows superseded since (hidden by the replica) are left out of the
selector bitmap, never fetched and dropped.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from papertide.search.ranked import Ranked
from papertide.search.semantic.admitted import (
    EMPTY_ROWS,
    Admitted,
    Mask,
    Pairs,
    StoredRows,
    admit,
    id_array,
    row_lookup,
    row_vectors,
    rows_in,
    search_admitted,
)
from papertide.search.semantic.bitmaps import AdmittedBitmaps
from papertide.search.semantic.days import PublishedDays
from papertide.search.semantic.index import IndexConfig, IndexKind
from papertide.search.semantic.lists import RowLists
from papertide.search.semantic.passages import Vectors

GRAPH_FILE = "graph.faiss"


def order_by_id(ids: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The live paper ids sorted, and the row of each (the lookup a snapshot saves beside ``ids``)."""
    rows = np.flatnonzero(ids >= 0).astype(np.int64)
    order = np.argsort(ids[rows], kind="stable")
    return np.ascontiguousarray(ids[rows][order]), np.ascontiguousarray(rows[order])


class MappedIndex:
    """A snapshot's ids and vectors (or graph), searchable by inner product without copying them.

    :param ids: the paper id of each stored row, -1 for a row superseded before the snapshot.
    :param sorted_ids: the live ids in ascending order, with ``sorted_rows`` their rows.
    """

    def __init__(
        self,
        path: Path,
        dim: int,
        kind: IndexKind,
        config: IndexConfig,
        ids: npt.NDArray[np.int64],
        lookup: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]],
        matrix: Vectors | None,
        graph: Any,
    ) -> None:
        self.path = path
        self.dim = dim
        self.kind = kind
        self.config = config
        self.ids = ids
        self.sorted_ids, self.sorted_rows = lookup
        self.rows = StoredRows(ids, matrix, graph)
        # Rows of a paper (not superseded before the snapshot), made on the first search that needs it.
        self._live: Mask | None = None
        # The row of each id as an array indexed by id (row_lookup), made on the first filtered search.
        self._lookup: npt.NDArray[np.int64] | None = None
        # The snapshot never changes: the bitmaps of recent filters stay true for as long as it is open.
        self.bitmaps = AdmittedBitmaps()
        # Every paper's publication day as of the snapshot (days.py); None for one written without it.
        self.published: PublishedDays | None = None
        # Whether the rows are the published papers in order (``rows_follow_papers``), checked on first need.
        self._follows: bool | None = None

    def __len__(self) -> int:
        return len(self.sorted_ids)

    def __contains__(self, paper_id: object) -> bool:
        return isinstance(paper_id, int) and self.row_of(paper_id) is not None

    @property
    def size(self) -> int:
        """Stored rows, superseded ones included."""
        return len(self.ids)

    def rows_of(self, paper_ids: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """The row of each paper id, -1 where the snapshot has none."""
        if len(self.sorted_ids) == 0 or len(paper_ids) == 0:
            return np.full(len(paper_ids), -1, dtype=np.int64)
        positions = np.minimum(np.searchsorted(self.sorted_ids, paper_ids), len(self.sorted_ids) - 1)
        found = self.sorted_ids[positions] == paper_ids
        return np.where(found, self.sorted_rows[positions], -1).astype(np.int64)

    def row_of(self, paper_id: int) -> int | None:
        """The row of one paper, or None."""
        row = int(self.rows_of(np.array([paper_id], dtype=np.int64))[0])
        return None if row < 0 else row

    def stored(self) -> Vectors:
        """Every stored row's vector: a view of the mapped file, never a copy."""
        return row_vectors(self.rows, self.dim)

    def vector(self, paper_id: int) -> Vectors | None:
        """A paper's vector (a copy), or None when the snapshot has none."""
        row = self.row_of(paper_id)
        return None if row is None else np.array(self.stored()[row])

    def live(self, hidden: Collection[int] = ()) -> tuple[npt.NDArray[np.int64], Vectors]:
        """Ids and vectors (copies) of the live rows, less the ``hidden`` papers: for writing a merged snapshot."""
        rows = np.sort(self.sorted_rows)
        if hidden:
            rows = rows[~np.isin(self.ids[rows], np.fromiter(hidden, dtype=np.int64))]
        return np.array(self.ids[rows]), np.array(self.stored()[rows])

    def vectors_of(
        self, candidates: Collection[int], hidden_rows: npt.NDArray[np.int64] = EMPTY_ROWS
    ) -> tuple[npt.NDArray[np.int64], Vectors]:
        """Ids and vectors (copies) of those ``candidates`` the snapshot holds, less ``hidden_rows``."""
        rows = self.rows_of(np.fromiter(candidates, dtype=np.int64, count=len(candidates)))
        rows = rows[(rows >= 0) & ~np.isin(rows, hidden_rows)]
        return np.array(self.ids[rows]), np.array(self.stored()[rows])

    def search(
        self,
        query: Vectors,
        k: int,
        candidates: Collection[int] | None = None,
        hidden_rows: npt.NDArray[np.int64] = EMPTY_ROWS,
    ) -> Pairs:
        """The ``k`` best live rows by inner product, skipping ``hidden_rows`` (superseded since the snapshot)."""
        return self.nearest(query, k, candidates, hidden_rows).pairs()

    def nearest(
        self,
        query: Vectors,
        k: int,
        candidates: Collection[int] | None = None,
        hidden_rows: npt.NDArray[np.int64] = EMPTY_ROWS,
    ) -> Ranked:
        """``search`` as arrays of ids and scores.

        The hidden rows are left out of the same bitmap that admits the candidates (admitted.py),
        so neither a filtered nor an unfiltered search fetches rows only to discard them.
        """
        if k <= 0 or len(self) == 0:
            return Ranked.empty()
        query = np.asarray(query, dtype=np.float32).reshape(-1)
        hidden = np.asarray(hidden_rows, dtype=np.int64)
        if candidates is None and not len(hidden) and len(self) == self.size:
            admitted: Admitted | None = None
        else:
            admitted = self.bitmaps.fetch(candidates, hidden, lambda: Admitted.of(self._admit(candidates, hidden)))
        return search_admitted(
            query,
            k,
            self.rows,
            admitted,
            live=len(self) - len(hidden),
            ef_search=self.config.ef_search,
            cost_ratio=self.config.graph_cost_ratio,
        )

    def _admit(self, candidates: Collection[int] | None, hidden: npt.NDArray[np.int64]) -> Mask:
        """The rows of ``candidates`` (None: every live row) less the ``hidden`` ones."""
        if candidates is None:
            admitted = self.live_rows().copy()
            admitted[hidden] = False
            return admitted
        selected = self._selected(candidates)
        if selected is not None:
            # The snapshot's rows are its papers in order: the filter's mask is the rows' (selections.py).
            if not len(hidden):
                return selected
            admitted = selected.copy()
            admitted[hidden] = False
            return admitted
        if self._lookup is None:
            self._lookup = row_lookup(np.asarray(self.ids))
        wanted = id_array(candidates)
        rows = self.rows_of(wanted) if self._lookup is None else rows_in(self._lookup, wanted)
        return admit(self.size, rows[rows >= 0], hidden)

    def _selected(self, candidates: Collection[int]) -> Mask | None:
        """The mask the snapshot's papers selected ``candidates`` from (days.py), if it is also the rows'."""
        published = self.published
        if published is None:
            return None
        selected = published.selections.mask_of(candidates)
        if selected is None or not self.rows_follow_papers():
            return None
        return selected

    def rows_follow_papers(self) -> bool:
        """Whether row ``i`` holds paper ``published.ids[i]`` for every row and paper (no dead rows, none missing).

        Checked once per snapshot (0.7 ms CPU at a million rows, bench/first_use_bitmap.py); a snapshot
        of papers without a vector, or with rows superseded before it was written, looks up each
        candidate's row instead.
        """
        published = self.published
        if published is None:
            return False
        if self._follows is None:
            self._follows = len(published.ids) == self.size and bool(
                np.array_equal(np.asarray(published.ids), np.asarray(self.ids))
            )
        return self._follows

    @property
    def lists(self) -> RowLists | None:
        """The graph's rows grouped by nearest centroid (lists.py); None for a snapshot written without them."""
        return self.rows.lists

    def attach_lists(self, lists: RowLists | None) -> None:
        """Search with ``lists`` (the snapshot's, read by snapshot.py) from now on."""
        self.rows = dataclasses.replace(self.rows, lists=lists)

    def live_rows(self) -> Mask:
        """Which rows hold a paper's vector (not one superseded before the snapshot)."""
        if self._live is None:
            self._live = np.asarray(self.ids) >= 0
        return self._live

    def private_graph(self) -> Any:
        """The HNSW graph read into this process's memory, so that it can be added to (the writer's merge)."""
        import faiss

        return faiss.read_index(str(self.path / GRAPH_FILE))


def open_mapped(path: Path, dim: int, kind: IndexKind, config: IndexConfig, ids: npt.NDArray[np.int64]) -> MappedIndex:
    """Map the snapshot in folder ``path`` whose row ids are ``ids`` (already mapped by the caller)."""
    sorted_path, rows_path = path / "sorted_ids.npy", path / "sorted_rows.npy"
    if sorted_path.exists() and rows_path.exists():
        lookup = (np.load(sorted_path, mmap_mode="r"), np.load(rows_path, mmap_mode="r"))
    else:
        lookup = order_by_id(np.asarray(ids))  # a snapshot written before the lookup files existed
    if len(lookup[0]) != int(np.count_nonzero(np.asarray(ids) >= 0)):
        raise ValueError("the id lookup does not match the ids")
    if kind == "exact":
        matrix = np.load(path / "vectors.npy", mmap_mode="r")
        if matrix.shape != (len(ids), dim):
            raise ValueError(f"vectors.npy holds {matrix.shape}, expected {(len(ids), dim)}")
        return MappedIndex(path, dim, kind, config, ids, lookup, matrix, None)
    import faiss

    graph = faiss.read_index(str(path / GRAPH_FILE), faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY)
    if graph.ntotal != len(ids) or graph.d != dim:
        raise ValueError(f"{GRAPH_FILE} holds {graph.ntotal} vectors of {graph.d} dimensions, expected {len(ids)}")
    return MappedIndex(path, dim, kind, config, ids, lookup, None, graph)
