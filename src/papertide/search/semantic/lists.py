"""The rows of an HNSW index grouped by their nearest centroid, so a filtered search can score only nearby rows.

A filter passing a tenth of the papers made the graph walk ten times wider than its ``k``
(filtered.py: width ``k / share``), about 10 ms at a million papers, twice plain search's walk
(issue 13). Inverted lists find the same neighbours more cheaply: the query is scored against a
thousand centroids, the lists nearest it are read until they hold about ``LIST_SCORED x k /
share`` rows, and the admitted rows among them (about ``LIST_SCORED x k``) are scored exactly
against the graph's own flat storage (admitted.py). Measured on the kept 1 M corpus
(bench/filter_recall.py, docs/search.md): 4.4 ms against 9-10.6 ms for the walk, with recall at
10, 100 and 200 as high or higher, for every filter from 9 to 18 %.

Nothing is copied: the lists hold row numbers only (8 bytes a row, and the centroids), never
vectors. Rows added after the lists were made (``covered`` onwards) are read by every scan, so an
index that grows between two snapshots stays correct; a snapshot extends its lists with the new
rows' nearest centroids, and trains new centroids only when the rows have doubled since.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from papertide.search.semantic.passages import Vectors

Rows = npt.NDArray[np.int64]
# Admitted rows a scan aims to score, per neighbour wanted: the lists read hold about ``LIST_SCORED x k / share``
# rows. 64 gave recall at 10/100/200 at or above the graph walk's at its width for filters of 9-18 % at a million
# papers, in 4.4 ms against 9-10.6 ms (32: 2.5 ms, but recall@100 of queries near the data under the walk's).
LIST_SCORED = 64
# Centroids trained on this many rows per list (k-means converges long before; training stays a few seconds).
TRAINING_ROWS_PER_LIST = 64
TRAINING_ITERATIONS = 10
# Rows assigned to their centroid per product (keeps the score block at 64 MB for a thousand lists).
ASSIGN_BLOCK = 16_384


def list_count(rows: int) -> int:
    """How many lists for ``rows`` rows: about their square root (a thousand lists of a thousand rows at a million)."""
    return max(1, min(rows, round(math.sqrt(rows))))


@dataclass(frozen=True, slots=True)
class RowLists:
    """Rows ``0 .. covered - 1`` grouped by their nearest centroid.

    :param centroids: one unit vector per list (float32, lists x dim).
    :param rows: every covered row, list by list, ascending within a list.
    :param offsets: where each list starts in ``rows``, lists + 1 entries (list i: rows[offsets[i]:offsets[i+1]]).
    """

    centroids: Vectors
    rows: Rows
    offsets: Rows

    @property
    def covered(self) -> int:
        """How many rows the lists hold (rows from this one on were added since and are always read)."""
        return len(self.rows)

    @property
    def count(self) -> int:
        """How many lists."""
        return len(self.centroids)

    def sizes(self) -> Rows:
        """The number of rows in each list."""
        sizes: Rows = np.diff(np.asarray(self.offsets)).astype(np.int64)
        return sizes

    def assignment(self) -> Rows:
        """The list of each covered row (the inverse of ``rows``/``offsets``)."""
        assigned = np.empty(self.covered, dtype=np.int64)
        assigned[np.asarray(self.rows)] = np.repeat(np.arange(self.count, dtype=np.int64), self.sizes())
        return assigned

    def nearest_rows(self, query: Vectors, wanted: int, size: int) -> Rows:
        """The rows of the lists nearest ``query`` until they hold at least ``wanted`` rows, and every row added since.

        :param size: the index's rows now (``covered`` or more); unsorted, each row once.
        """
        scores = np.asarray(self.centroids) @ query
        order = np.argsort(-scores, kind="stable")
        sizes = self.sizes()[order]
        taken = int(np.searchsorted(np.cumsum(sizes), wanted)) + 1
        rows = np.asarray(self.rows)
        starts, stops = np.asarray(self.offsets)[order[:taken]], np.asarray(self.offsets)[order[:taken] + 1]
        parts = [rows[start:stop] for start, stop in zip(starts.tolist(), stops.tolist(), strict=True)]
        if size > self.covered:
            parts.append(np.arange(self.covered, size, dtype=np.int64))
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def assign_rows(centroids: Vectors, vectors: Vectors) -> Rows:
    """The nearest centroid (highest inner product) of each vector, a block at a time."""
    import faiss

    quantizer = faiss.IndexFlatIP(centroids.shape[1])
    quantizer.add(np.ascontiguousarray(centroids, dtype=np.float32))
    assigned = np.empty(len(vectors), dtype=np.int64)
    for start in range(0, len(vectors), ASSIGN_BLOCK):
        block = np.ascontiguousarray(vectors[start : start + ASSIGN_BLOCK], dtype=np.float32)
        _, nearest = quantizer.search(block, 1)
        assigned[start : start + len(block)] = nearest[:, 0]
    return assigned


def group_rows(centroids: Vectors, assigned: Rows) -> RowLists:
    """Lists from each row's list number."""
    order = np.argsort(assigned, kind="stable").astype(np.int64)
    offsets = np.searchsorted(assigned[order], np.arange(len(centroids) + 1)).astype(np.int64)
    return RowLists(np.ascontiguousarray(centroids, dtype=np.float32), order, offsets)


def train_lists(vectors: Vectors, live: npt.NDArray[np.bool_], *, seed: int = 0) -> RowLists:
    """Centroids trained (spherical k-means) on a sample of the ``live`` rows, and every row assigned to one.

    Deterministic for the same vectors: the sample and k-means take fixed seeds.
    """
    import faiss

    candidates = np.flatnonzero(live)
    lists = list_count(len(candidates))
    dim = vectors.shape[1]
    if lists <= 1:
        total = np.asarray(vectors[candidates], dtype=np.float32).sum(axis=0) if len(candidates) else np.ones(dim)
        centroid: Vectors = (total / max(float(np.linalg.norm(total)), 1e-12)).astype(np.float32)[None, :]
        return group_rows(centroid, np.zeros(len(vectors), dtype=np.int64))
    rng = np.random.default_rng(seed)
    picked = min(len(candidates), lists * TRAINING_ROWS_PER_LIST)
    # Sorted, so a memory-mapped matrix is read front to back.
    sample = np.ascontiguousarray(vectors[np.sort(rng.choice(candidates, size=picked, replace=False))], np.float32)
    kmeans: Any = faiss.Kmeans(
        dim, lists, niter=TRAINING_ITERATIONS, spherical=True, seed=seed, max_points_per_centroid=TRAINING_ROWS_PER_LIST
    )
    kmeans.train(sample)
    centroids = np.asarray(kmeans.centroids, dtype=np.float32)
    return group_rows(centroids, assign_rows(centroids, vectors))


def extend_lists(lists: RowLists, vectors: Vectors) -> RowLists:
    """``lists`` with the rows added since (``covered`` onwards) assigned to their nearest centroid."""
    if len(vectors) <= lists.covered:
        return lists
    added = assign_rows(np.asarray(lists.centroids), vectors[lists.covered :])
    return group_rows(np.asarray(lists.centroids), np.concatenate([lists.assignment(), added]))


def lists_for(vectors: Vectors, live: npt.NDArray[np.bool_], previous: RowLists | None) -> RowLists:
    """The lists a snapshot of ``vectors`` stores: ``previous`` extended, or trained anew once rows have doubled."""
    if previous is not None and 2 * previous.covered >= len(vectors) and previous.covered <= len(vectors):
        return extend_lists(previous, vectors)
    return train_lists(vectors, live)


CENTROIDS_FILE = "list_centroids.npy"
ROWS_FILE = "list_rows.npy"
OFFSETS_FILE = "list_offsets.npy"
LISTS_KEY = "lists"


def save_lists(folder: Path, lists: RowLists, save: Any) -> dict[str, int]:
    """Write ``lists`` into snapshot ``folder`` with ``save(path, array)``; returns what the meta records."""
    save(folder / CENTROIDS_FILE, np.asarray(lists.centroids, dtype=np.float32))
    save(folder / ROWS_FILE, np.asarray(lists.rows, dtype=np.int64))
    save(folder / OFFSETS_FILE, np.asarray(lists.offsets, dtype=np.int64))
    return {LISTS_KEY: lists.count}


def load_lists(folder: Path, meta: dict[str, Any], size: int, dim: int) -> RowLists | None:
    """The lists of snapshot ``folder`` (``size`` rows of ``dim``), memory-mapped; None for one written without them.

    Checked before use (a corrupt file raises ValueError): every row number inside the snapshot, since
    faiss reads the vectors of the rows it is given without bounds checks.
    """
    if LISTS_KEY not in meta:
        return None
    centroids = np.load(folder / CENTROIDS_FILE, mmap_mode="r")
    rows = np.load(folder / ROWS_FILE, mmap_mode="r")
    offsets = np.load(folder / OFFSETS_FILE)
    count = int(meta[LISTS_KEY])
    if centroids.dtype != np.float32 or rows.dtype != np.int64 or offsets.dtype != np.int64:
        raise ValueError(f"the lists hold {centroids.dtype}/{rows.dtype}/{offsets.dtype}, expected float32/int64/int64")
    if centroids.shape != (count, dim) or offsets.shape != (count + 1,) or rows.shape != (size,):
        raise ValueError(
            f"the lists hold {centroids.shape} centroids, {offsets.shape} offsets and {rows.shape} rows, "
            f"expected {(count, dim)}, {(count + 1,)} and {(size,)}"
        )
    if offsets[0] != 0 or offsets[-1] != size or np.any(np.diff(offsets) < 0):
        raise ValueError("the list offsets do not cover the rows in order")
    if size and (int(rows.min()) < 0 or int(rows.max()) >= size):
        raise ValueError(f"a list holds a row outside 0..{size - 1}")
    return RowLists(centroids, rows, offsets)
