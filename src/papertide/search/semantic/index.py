"""Nearest neighbours over unit vectors: exact numpy top-k for small corpora, faiss HNSW for large ones.

The index is a cache of the ``paper_vectors`` table (vectors.py): it is updated in
place as vectors arrive and can always be rebuilt from the database. HNSW graphs cannot
delete, so a re-embedded paper gets a new entry and its old one is marked dead; searches skip
dead entries and the searcher compacts the graph once too many pile up.

A search restricted to allowed papers (a filter, issue 13) never over-fetches: it scores the
allowed vectors exactly or walks the graph with a faiss ID selector, whichever filtered.py
predicts cheaper for the share of papers allowed.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from papertide.search.semantic.filtered import FilteredSearch, choose_filtered_search
from papertide.search.semantic.passages import Vectors

IndexKind = Literal["exact", "hnsw"]
Pairs = list[tuple[int, float]]
# Rebuild an HNSW graph when more than this share of its entries are dead.
DEAD_SHARE_LIMIT = 0.2


@dataclass(frozen=True, slots=True)
class IndexConfig:
    """How the vector index is built (settings ``vector_*``)."""

    kind: Literal["auto", "exact", "hnsw"] = "auto"
    exact_limit: int = 100_000
    hnsw_m: int = 32
    ef_construction: int = 100
    ef_search: int = 128
    # Cost of one unit of HNSW search width against one exact dot product, for choosing how a
    # filtered search runs (filtered.py; bench/search.py measures it: 9.3 on a loaded 2-core machine).
    graph_cost_ratio: float = 8.0

    def kind_for(self, count: int) -> IndexKind:
        """The kind of index to hold ``count`` vectors."""
        if self.kind == "auto":
            return "exact" if count <= self.exact_limit else "hnsw"
        return self.kind


def select_top(scores: npt.NDArray[np.float32], ids: npt.NDArray[np.int64], k: int) -> Pairs:
    """The ``k`` highest scores with their ids, best first (ties by id)."""
    if k <= 0 or len(scores) == 0:
        return []
    if len(scores) > k:
        keep = np.argpartition(-scores, k - 1)[:k]
        scores, ids = scores[keep], ids[keep]
    order = np.lexsort((ids, -scores))
    # tolist() converts in C: a semantic search reads up to 1,000 neighbours (issue 9, load).
    return list(zip(ids[order].tolist(), scores[order].tolist(), strict=True))


class VectorIndex:
    """Paper ids and their vectors, searchable by inner product (cosine for unit vectors)."""

    def __init__(self, dim: int, kind: IndexKind, config: IndexConfig) -> None:
        self.dim = dim
        self.kind = kind
        self.config = config
        self._rows: dict[int, int] = {}
        self._ids = np.zeros(0, dtype=np.int64)
        self._size = 0
        self._matrix = np.zeros((0, dim), dtype=np.float32)
        self._graph: Any = None
        # Row of each paper id (-1: none) as an array, built on the first filtered search after a change.
        self._row_lookup: npt.NDArray[np.int64] | None = None
        if kind == "hnsw":
            import faiss

            self._graph = faiss.IndexHNSWFlat(dim, config.hnsw_m, faiss.METRIC_INNER_PRODUCT)
            self._graph.hnsw.efConstruction = config.ef_construction

    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, paper_id: object) -> bool:
        return paper_id in self._rows

    @property
    def dead(self) -> int:
        """Entries superseded by a newer vector of the same paper (HNSW only)."""
        return self._size - len(self._rows)

    def needs_compaction(self) -> bool:
        """Whether dead entries are numerous enough to rebuild the graph."""
        return self.dead > 1000 and self.dead > DEAD_SHARE_LIMIT * self._size

    def _grow_ids(self, extra: int) -> None:
        needed = self._size + extra
        if needed > len(self._ids):
            grown = np.full(max(needed, 2 * len(self._ids), 1024), -1, dtype=np.int64)
            grown[: self._size] = self._ids[: self._size]
            self._ids = grown

    def add(self, paper_ids: npt.NDArray[np.int64], vectors: Vectors) -> None:
        """Insert vectors, replacing those of papers already present."""
        if len(paper_ids) == 0:
            return
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        # The last vector of a paper wins when a batch holds it twice.
        latest = {int(paper_id): position for position, paper_id in enumerate(paper_ids)}
        if self.kind == "exact":
            fresh = [pid for pid in latest if pid not in self._rows]
            for pid, position in latest.items():
                if pid in self._rows:
                    self._matrix[self._rows[pid]] = vectors[position]
            self._append(fresh, vectors[[latest[pid] for pid in fresh]])
            return
        for pid in latest:
            old = self._rows.get(pid)
            if old is not None:
                self._ids[old] = -1
                self._row_lookup = None
        self._append(list(latest), vectors[list(latest.values())])

    def _append(self, paper_ids: list[int], vectors: Vectors) -> None:
        if not paper_ids:
            return
        self._grow_ids(len(paper_ids))
        start = self._size
        if self.kind == "exact":
            if start + len(paper_ids) > len(self._matrix):
                grown = np.zeros((max(start + len(paper_ids), 2 * len(self._matrix), 1024), self.dim), np.float32)
                grown[:start] = self._matrix[:start]
                self._matrix = grown
            self._matrix[start : start + len(paper_ids)] = vectors
        else:
            self._graph.add(vectors)
        self._ids[start : start + len(paper_ids)] = paper_ids
        self._row_lookup = None
        for offset, pid in enumerate(paper_ids):
            self._rows[pid] = start + offset
        self._size += len(paper_ids)

    def _stored(self) -> Vectors:
        """All stored rows, dead ones included (a view, not a copy)."""
        if self.kind == "exact":
            return self._matrix[: self._size]
        import faiss

        flat: Any = faiss.downcast_index(self._graph.storage)
        data = faiss.rev_swig_ptr(flat.get_xb(), self._size * self.dim)
        view: Vectors = np.asarray(data).reshape(self._size, self.dim)
        return view

    def vector(self, paper_id: int) -> Vectors | None:
        """A paper's vector (a copy), or None when it has none."""
        row = self._rows.get(paper_id)
        return None if row is None else np.array(self._stored()[row])

    def live(self) -> tuple[npt.NDArray[np.int64], Vectors]:
        """Ids and vectors of every live entry (copies), for compaction and saving."""
        rows = np.fromiter(self._rows.values(), dtype=np.int64, count=len(self._rows))
        rows.sort()
        return self._ids[rows].copy(), np.array(self._stored()[rows])

    def vectors_of(self, candidates: Collection[int]) -> tuple[npt.NDArray[np.int64], Vectors]:
        """Ids and vectors (a copy) of those ``candidates`` that are in the index."""
        rows = self.rows_of(candidates)
        return self._ids[rows].copy(), np.array(self._stored()[rows])

    def search(self, query: Vectors, k: int, candidates: Collection[int] | None = None) -> Pairs:
        """The ``k`` entries with the highest inner product, best first; among ``candidates`` when given."""
        if k <= 0 or not self._rows:
            return []
        query = np.asarray(query, dtype=np.float32).reshape(-1)
        if candidates is not None:
            return self._search_among(query, k, self.rows_of(candidates))
        if self.kind == "exact":
            return select_top(self._matrix[: self._size] @ query, self._ids[: self._size], k)
        return self._search_graph(query, k)

    def rows_of(self, paper_ids: Collection[int]) -> npt.NDArray[np.int64]:
        """The rows of those ``paper_ids`` that have a vector (in no particular order)."""
        wanted = (
            np.asarray(paper_ids, dtype=np.int64)
            if isinstance(paper_ids, np.ndarray)
            else np.fromiter(paper_ids, dtype=np.int64, count=len(paper_ids))
        )
        lookup = self._lookup()
        if lookup is None:
            # Ids too sparse for an array indexed by id (never the case for database keys).
            return np.fromiter((self._rows[int(i)] for i in wanted if int(i) in self._rows), dtype=np.int64)
        inside = wanted[(wanted >= 0) & (wanted < len(lookup))]
        rows = lookup[inside]
        return rows[rows >= 0]

    def _lookup(self) -> npt.NDArray[np.int64] | None:
        if self._row_lookup is None:
            ids = self._ids[: self._size]
            live = np.flatnonzero(ids >= 0)
            top = int(ids.max()) + 1 if self._size else 0
            if top > 8 * self._size + 1_000_000:
                return None
            lookup = np.full(top, -1, dtype=np.int64)
            lookup[ids[live]] = live
            self._row_lookup = lookup
        return self._row_lookup

    def plan_filtered(self, allowed: int, k: int) -> FilteredSearch:
        """How a search for ``k`` among ``allowed`` papers runs (explain lines and bench/search.py print it)."""
        config = self.config
        return choose_filtered_search(
            allowed, len(self._rows), k, self.kind, ef_search=config.ef_search, cost_ratio=config.graph_cost_ratio
        )

    def _search_among(self, query: Vectors, k: int, rows: npt.NDArray[np.int64]) -> Pairs:
        """Top ``k`` among ``rows``: exact dot products, or the graph walked with only those rows admitted."""
        if len(rows) == 0:
            return []
        plan = self.plan_filtered(len(rows), k)
        if self.kind == "exact":
            if 4 * len(rows) > self._size:
                # Most rows allowed: one product over the whole matrix beats gathering the allowed rows.
                scores = self._matrix[: self._size] @ query
                return select_top(scores[rows], self._ids[rows], k)
            return select_top(self._matrix[rows] @ query, self._ids[rows], k)
        if plan.method == "graph":
            found = self._search_admitted(query, k, rows, plan.width)
            # A walk that ends with fewer than it could have found is answered exactly instead.
            if len(found) >= min(k, len(rows)):
                return found
        return self._search_admitted(query, k, rows, None)

    def _search_admitted(self, query: Vectors, k: int, rows: npt.NDArray[np.int64], width: int | None) -> Pairs:
        """Search the graph (``width``) or score its flat storage exactly (None), admitting only ``rows``.

        faiss skips the rows a bitmap leaves out, so the allowed vectors are scored in place: no
        copy of them is gathered (2 to 4 times faster than numpy's gather and product, measured).
        """
        import faiss as faiss_module

        # The bundled type stubs lack the search-parameter classes.
        faiss: Any = faiss_module
        admitted = np.zeros(self._size, dtype=bool)
        admitted[rows] = True
        bitmap = np.packbits(admitted, bitorder="little")
        # faiss reads the bitmap in place (its size is in bytes): ``bitmap`` must outlive the search.
        selector = faiss.IDSelectorBitmap(len(bitmap), faiss.swig_ptr(bitmap))
        wanted = min(k, len(rows))
        if width is None:
            storage = faiss.downcast_index(self._graph.storage)
            scores, labels = storage.search(query[None, :], wanted, params=faiss.SearchParameters(sel=selector))
        else:
            parameters = faiss.SearchParametersHNSW(sel=selector, efSearch=width)
            scores, labels = self._graph.search(query[None, :], wanted, params=parameters)
        return [
            (int(self._ids[label]), float(score))
            for score, label in zip(scores[0], labels[0], strict=True)
            if label >= 0 and self._ids[label] >= 0
        ]

    def _search_graph(self, query: Vectors, k: int) -> Pairs:
        wanted = min(k, len(self._rows))
        fetch = min(self._size, wanted + 2 * self.dead * wanted // max(self._size, 1) + 10)
        while True:
            self._graph.hnsw.efSearch = max(self.config.ef_search, fetch)
            scores, labels = self._graph.search(query[None, :], fetch)
            found = [
                (int(self._ids[label]), float(score))
                for score, label in zip(scores[0], labels[0], strict=True)
                if label >= 0 and self._ids[label] >= 0
            ]
            if len(found) >= wanted or fetch >= self._size:
                return found[:k]
            fetch = min(self._size, fetch * 2)

    def compacted(self, kind: IndexKind | None = None) -> VectorIndex:
        """A new index of the live entries only, of ``kind`` (the same by default)."""
        fresh = VectorIndex(self.dim, kind or self.kind, self.config)
        ids, vectors = self.live()
        fresh.add(ids, vectors)
        return fresh

    def arrays(self) -> tuple[npt.NDArray[np.int64], Vectors | None, Any]:
        """What a snapshot stores: row ids (-1 dead), and the matrix (exact) or the graph (HNSW)."""
        ids = self._ids[: self._size].copy()
        if self.kind == "exact":
            return ids, self._matrix[: self._size], None
        return ids, None, self._graph

    @classmethod
    def from_arrays(
        cls,
        dim: int,
        kind: IndexKind,
        config: IndexConfig,
        ids: npt.NDArray[np.int64],
        matrix: Vectors | None,
        graph: Any,
    ) -> VectorIndex:
        """Rebuild the in-memory state from a snapshot's arrays."""
        index = cls(dim, kind, config)
        index._ids = np.asarray(ids, dtype=np.int64).copy()
        index._size = len(ids)
        index._rows = {int(pid): row for row, pid in enumerate(index._ids) if pid >= 0}
        if kind == "exact":
            assert matrix is not None
            index._matrix = np.array(matrix, dtype=np.float32)
        else:
            graph.hnsw.efConstruction = config.ef_construction
            index._graph = graph
        return index
