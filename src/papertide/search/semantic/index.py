"""Nearest neighbours over unit vectors: exact numpy top-k for small corpora, faiss HNSW for large ones.

The index is a cache of the ``paper_vectors`` table (vectors.py): it is updated in
place as vectors arrive and can always be rebuilt from the database. HNSW graphs cannot
delete, so a re-embedded paper gets a new entry and its old one is marked dead; searches skip
dead entries and the searcher compacts the graph once too many pile up.

A search restricted to allowed papers (a filter, issue 13) or skipping dead entries never
over-fetches: it scores the admitted vectors exactly or walks the graph with a faiss ID selector,
whichever filtered.py predicts cheaper (admitted.py, shared with the memory-mapped snapshot).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from papertide.search.ranked import Ranked
from papertide.search.semantic.admitted import (
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
from papertide.search.semantic.filtered import FilteredSearch, choose_filtered_search
from papertide.search.semantic.lists import LISTS_MIN_ROWS, RowLists, lists_for, scored_of
from papertide.search.semantic.passages import Vectors

IndexKind = Literal["exact", "hnsw"]
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
    # filtered search runs (filtered.py; bench/search.py measures it: 20.4-21.2 at a million papers).
    graph_cost_ratio: float = 20.0

    def kind_for(self, count: int) -> IndexKind:
        """The kind of index to hold ``count`` vectors."""
        if self.kind == "auto":
            return "exact" if count <= self.exact_limit else "hnsw"
        return self.kind


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
        # The graph's rows grouped by nearest centroid (lists.py), carried from the snapshot it was read from.
        self._lists: RowLists | None = None
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
        return row_vectors(self._stored_rows(), self.dim)

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
        return self.nearest(query, k, candidates).pairs()

    def nearest(self, query: Vectors, k: int, candidates: Collection[int] | None = None) -> Ranked:
        """``search`` as arrays of ids and scores (what hybrid search fuses, issue 13)."""
        if k <= 0 or not self._rows:
            return Ranked.empty()
        query = np.asarray(query, dtype=np.float32).reshape(-1)
        if candidates is not None:
            admitted: Admitted | None = Admitted.of(self._admit(id_array(candidates)))
        else:
            admitted = Admitted.of(self._ids[: self._size] >= 0) if self.dead else None
        return search_admitted(
            query,
            k,
            self._stored_rows(),
            admitted,
            live=len(self._rows),
            ef_search=self.config.ef_search,
            cost_ratio=self.config.graph_cost_ratio,
        )

    def _stored_rows(self) -> StoredRows:
        ids = self._ids[: self._size]
        if self.kind == "exact":
            return StoredRows(ids, self._matrix[: self._size], None)
        return StoredRows(ids, None, self._graph, self._lists)

    def _admit(self, wanted: npt.NDArray[np.int64]) -> Mask:
        """The mask of the rows of the ``wanted`` ids.

        A replica's delta holds a few hundred rows while a broad filter passes 600,000 papers:
        looking each of those up costs 5 ms per search, so when the filter's ids are sorted (search/
        allowed.py's are) and many more than the rows, each row's id is looked up among them instead.
        """
        if len(wanted) > 4 * self._size and not np.any(wanted[1:] < wanted[:-1]):
            ids = self._ids[: self._size]
            positions = np.minimum(np.searchsorted(wanted, ids), len(wanted) - 1)
            admitted: Mask = (wanted[positions] == ids) & (ids >= 0)
            return admitted
        return admit(self._size, self.rows_of(wanted))

    def rows_of(self, paper_ids: Collection[int]) -> npt.NDArray[np.int64]:
        """The rows of those ``paper_ids`` that have a vector (in no particular order)."""
        wanted = id_array(paper_ids)
        lookup = self._lookup()
        if lookup is None:
            # Ids too sparse for an array indexed by id (never the case for database keys).
            return np.fromiter((self._rows[int(i)] for i in wanted if int(i) in self._rows), dtype=np.int64)
        rows = rows_in(lookup, wanted)
        return rows[rows >= 0]

    def _lookup(self) -> npt.NDArray[np.int64] | None:
        if self._row_lookup is None:
            self._row_lookup = row_lookup(self._ids[: self._size])
        return self._row_lookup

    def plan_filtered(self, allowed: int, k: int) -> FilteredSearch:
        """How a search for ``k`` among ``allowed`` papers runs (explain lines and bench/search.py print it)."""
        config = self.config
        return choose_filtered_search(
            allowed,
            len(self._rows),
            k,
            self.kind,
            ef_search=config.ef_search,
            cost_ratio=config.graph_cost_ratio,
            lists=scored_of(self._lists),
        )

    def snapshot_lists(self) -> RowLists | None:
        """The inverted lists a snapshot of this index stores (lists.py): the carried ones extended, or new ones.

        None for an exact index, which has no graph to spare, and below ``LISTS_MIN_ROWS`` live rows.
        The index searches with what this returns from then on.
        """
        if self.kind != "hnsw" or len(self._rows) < LISTS_MIN_ROWS:
            self._lists = None
            return None
        live = self._ids[: self._size] >= 0
        self._lists = lists_for(self._stored(), live, self._lists, self._graph, self.config.ef_search)
        return self._lists

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
        lists: RowLists | None = None,
    ) -> VectorIndex:
        """Rebuild the in-memory state from a snapshot's arrays (``lists``: the graph's, lists.py)."""
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
            index._lists = lists
        return index
