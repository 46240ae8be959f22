"""A host's replica of the vector index: the shared, memory-mapped snapshot plus this process's delta.

The snapshot (mapped.py) is read-only and shared by every process on the host; vectors written
to the database since it was taken are caught up into a small in-memory exact index (the delta),
which also hides the snapshot's entry of a paper embedded again. Only the host's writer
(election.py) merges the delta into a new snapshot (``merged``); the other processes drop their
delta when they move to that snapshot (issue 14).
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
import numpy.typing as npt

from papertide.search.ranked import Ranked, sort_best_first
from papertide.search.semantic.admitted import Pairs
from papertide.search.semantic.filtered import FilteredSearch, choose_filtered_search
from papertide.search.semantic.index import IndexConfig, IndexKind, VectorIndex
from papertide.search.semantic.lists import LISTS_MIN_ROWS, scored_of
from papertide.search.semantic.mapped import MappedIndex
from papertide.search.semantic.passages import Vectors


def _frozen(rows: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    rows.flags.writeable = False
    return rows


class ReplicaIndex:
    """Searchable like a VectorIndex; ``base`` is the mapped snapshot (None before the first one)."""

    def __init__(self, dim: int, config: IndexConfig, base: MappedIndex | None, kind: IndexKind) -> None:
        self.dim = dim
        self.base = base
        self._kind = kind
        self.delta = VectorIndex(dim, "exact", config)
        self.config = config
        # Papers of the snapshot whose vector changed since: their snapshot entry is skipped.
        self.hidden: set[int] = set()
        self._hidden_rows = _frozen(np.zeros(0, dtype=np.int64))

    @property
    def kind(self) -> IndexKind:
        """The kind of the snapshot (what the delta is merged into)."""
        return self.base.kind if self.base is not None else self._kind

    @property
    def config(self) -> IndexConfig:
        """How the index searches; setting it reaches the snapshot and the delta too (bench/search_filters.py)."""
        return self._config

    @config.setter
    def config(self, config: IndexConfig) -> None:
        self._config = self.delta.config = config
        if self.base is not None:
            self.base.config = config

    def plan_filtered(self, allowed: int, k: int) -> FilteredSearch:
        """How a search for ``k`` among ``allowed`` papers runs in the snapshot (explain lines and benches)."""
        return choose_filtered_search(
            allowed,
            len(self),
            k,
            self.kind,
            ef_search=self.config.ef_search,
            cost_ratio=self.config.graph_cost_ratio,
            lists=None if self.base is None else scored_of(self.base.lists),
        )

    def __len__(self) -> int:
        return (len(self.base) - len(self.hidden) if self.base is not None else 0) + len(self.delta)

    def __contains__(self, paper_id: object) -> bool:
        if paper_id in self.delta:
            return True
        return self.base is not None and paper_id not in self.hidden and paper_id in self.base

    @property
    def unsaved(self) -> int:
        """Vectors held only in this process's memory (the delta)."""
        return len(self.delta)

    def add(self, paper_ids: npt.NDArray[np.int64], vectors: Vectors) -> None:
        """Insert vectors into the delta, hiding the snapshot's entries of the same papers."""
        self.delta.add(paper_ids, vectors)
        if self.base is None or len(paper_ids) == 0:
            return
        rows = self.base.rows_of(np.asarray(paper_ids, dtype=np.int64))
        superseded = {int(pid) for pid, row in zip(paper_ids, rows, strict=True) if row >= 0}
        if superseded - self.hidden:
            self.hidden |= superseded
            # A new read-only array each time: the snapshot's kept bitmaps (bitmaps.py) know it by identity.
            self._hidden_rows = _frozen(self.base.rows_of(np.fromiter(self.hidden, dtype=np.int64)))

    def vector(self, paper_id: int) -> Vectors | None:
        """A paper's vector (a copy), or None when it has none."""
        found = self.delta.vector(paper_id)
        if found is not None or self.base is None or paper_id in self.hidden:
            return found
        return self.base.vector(paper_id)

    def search(self, query: Vectors, k: int, candidates: Collection[int] | None = None) -> Pairs:
        """The ``k`` entries with the highest inner product, best first; among ``candidates`` when given.

        The top ``k`` of the delta and the top ``k`` of the snapshot (less its hidden rows) hold the top ``k`` of both.
        """
        return self.nearest(query, k, candidates).pairs()

    def nearest(self, query: Vectors, k: int, candidates: Collection[int] | None = None) -> Ranked:
        """``search`` as arrays of ids and scores (what hybrid search fuses, issue 13)."""
        found = self.delta.nearest(query, k, candidates)
        if self.base is None:
            return found
        based = self.base.nearest(query, k, candidates, self._hidden_rows)
        if not len(found):
            return based
        both = Ranked(np.concatenate([found.ids, based.ids]), np.concatenate([found.scores, based.scores]))
        return sort_best_first(both).head(k)

    def vectors_of(self, candidates: Collection[int]) -> tuple[npt.NDArray[np.int64], Vectors]:
        """Ids and vectors (copies) of those ``candidates`` that have a vector: the delta's, then the snapshot's."""
        ids, vectors = self.delta.vectors_of(candidates)
        if self.base is None:
            return ids, vectors
        base_ids, base_vectors = self.base.vectors_of(candidates, self._hidden_rows)
        return np.concatenate([ids, base_ids]), np.concatenate([vectors.reshape(-1, self.dim), base_vectors])

    def needs_merge(self, limit: int) -> bool:
        """Whether the writer should write a new snapshot.

        A large delta, a wrong kind, too many dead entries, or a graph written without inverted lists
        (lists.py: a snapshot of an earlier version gets them at the writer's next maintenance step).
        """
        if self.base is None:
            return True
        dead = self.base.size - len(self.base) + len(self.hidden)
        kind_changes = self.config.kind_for(len(self)) != self.base.kind
        return (
            len(self.delta) >= limit
            or kind_changes
            or self.lacks_lists
            or (dead > 1000 and dead > 0.2 * self.base.size)
        )

    @property
    def lacks_lists(self) -> bool:
        """Whether the snapshot is a graph that should have inverted lists and has none (older, or unreadable)."""
        base = self.base
        return base is not None and base.kind == "hnsw" and base.lists is None and len(base) >= LISTS_MIN_ROWS

    def frozen(self) -> ReplicaIndex:
        """A copy that later adds do not change (the delta copied, the snapshot shared): what a save merges."""
        copy = ReplicaIndex(self.dim, self.config, self.base, self._kind)
        if len(self.delta):
            copy.delta.add(*self.delta.live())
        copy.hidden = set(self.hidden)
        copy._hidden_rows = self._hidden_rows
        return copy

    def merged(self) -> VectorIndex:
        """A full in-memory index of every live entry, of the kind its size calls for: what a snapshot stores.

        An HNSW snapshot is read into memory and extended (building a graph is the slow part);
        any other case is built from the live vectors.
        """
        wanted = self.config.kind_for(len(self))
        delta_ids, delta_vectors = self.delta.live()
        if self.base is not None and self.base.kind == "hnsw" and wanted == "hnsw":
            ids = np.array(self.base.ids, dtype=np.int64)
            if len(self._hidden_rows):
                ids[self._hidden_rows] = -1
            lists = self.base.lists
            if lists is not None:
                lists = lists.in_memory()  # the old snapshot's files go once it is replaced
            full = VectorIndex.from_arrays(self.dim, "hnsw", self.config, ids, None, self.base.private_graph(), lists)
            full.add(delta_ids, delta_vectors)
            return full.compacted() if full.needs_compaction() else full
        if self.base is not None:
            base_ids, base_vectors = self.base.live(self.hidden)
            delta_ids = np.concatenate([base_ids, delta_ids])
            delta_vectors = np.concatenate([base_vectors, delta_vectors])
        if wanted == "exact":
            return VectorIndex.from_arrays(self.dim, "exact", self.config, delta_ids, delta_vectors, None)
        full = VectorIndex(self.dim, wanted, self.config)
        full.add(delta_ids, delta_vectors)
        return full
