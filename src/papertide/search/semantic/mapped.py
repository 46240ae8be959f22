"""A saved vector index opened memory-mapped and read-only, so every process on a host shares its pages.

The snapshot's files (snapshot.py) are mapped, not read: the matrix of an exact index with
``numpy.load(mmap_mode="r")``, an HNSW graph and its vectors with faiss's
``IO_FLAG_MMAP_IFC`` (faiss >= 1.11 maps both the flat vectors and the graph's neighbour
lists). Four web processes searching one snapshot hold one copy in the page cache instead of
four on the heap (issue 14, bench/replicas.py). A mapped faiss index must never be added to:
faiss aborts the process on it, so this class has no ``add``; changes since the snapshot live
in the replica's in-memory delta (replica.py).
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from papertide.search.semantic.index import IndexConfig, IndexKind, Pairs, select_top
from papertide.search.semantic.passages import Vectors

GRAPH_FILE = "graph.faiss"
EMPTY_ROWS = np.zeros(0, dtype=np.int64)


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
        self._matrix = matrix
        self._graph = graph

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
        if self._matrix is not None:
            return self._matrix
        import faiss

        flat: Any = faiss.downcast_index(self._graph.storage)
        data = faiss.rev_swig_ptr(flat.get_xb(), self.size * self.dim)
        view: Vectors = np.asarray(data).reshape(self.size, self.dim)
        return view

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
        if k <= 0 or len(self) == 0:
            return []
        query = np.asarray(query, dtype=np.float32).reshape(-1)
        hidden = np.asarray(hidden_rows, dtype=np.int64)
        if candidates is not None:
            rows = self.rows_of(np.fromiter(candidates, dtype=np.int64))
            rows = rows[(rows >= 0) & ~np.isin(rows, hidden)]
            if len(rows) == 0:
                return []
            return select_top(self.stored()[rows] @ query, self.ids[rows], k)
        if self._matrix is not None:
            scores = self._matrix @ query
            scores[self.ids < 0] = -np.inf
            scores[hidden] = -np.inf
            return [pair for pair in select_top(scores, np.asarray(self.ids), k) if pair[1] != -np.inf]
        return self._search_graph(query, k, set(hidden.tolist()))

    def _search_graph(self, query: Vectors, k: int, hidden: set[int]) -> Pairs:
        skipped = self.size - len(self) + len(hidden)
        wanted = min(k, len(self) - len(hidden))
        if wanted <= 0:
            return []
        fetch = min(self.size, wanted + 2 * skipped * wanted // max(self.size, 1) + 10)
        while True:
            self._graph.hnsw.efSearch = max(self.config.ef_search, fetch)
            scores, labels = self._graph.search(query[None, :], fetch)
            found = [
                (int(self.ids[label]), float(score))
                for score, label in zip(scores[0], labels[0], strict=True)
                if label >= 0 and self.ids[label] >= 0 and int(label) not in hidden
            ]
            if len(found) >= wanted or fetch >= self.size:
                return found[:k]
            fetch = min(self.size, fetch * 2)

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
