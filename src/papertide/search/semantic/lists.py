"""The rows of an HNSW index grouped by their nearest centroid, so a filtered search can score only nearby rows.

A filter passing a tenth of the papers made the graph walk ten times wider than its ``k``
(filtered.py: width ``k / share``), about 10 ms at a million papers, twice plain search's walk
(issue 13). Inverted lists can find the same neighbours more cheaply: the query is scored against
a thousand centroids, the lists nearest it are read until they hold about ``scored / share`` rows
(``rows_to_read``), and the admitted rows among them (about ``scored``) are scored exactly against
the graph's own flat storage (admitted.py).

How many rows a scan must read for its recall depends on how the papers cluster, which no
constant knows: on the benches' synthetic clustered vectors few lists hold a query's neighbours,
on real embeddings (SciFact) they spread over many more. So ``scored`` is measured on each
snapshot's own rows (``calibrate``): stored papers as queries, a random tenth of the others
allowed, the rows read until the scans' mean recall against exact search reaches what the graph's
own filtered walk finds for the same queries (at most ``RECALL_TARGETS``). filtered.py then weighs
the scan at that cost against the graph walk and exact scores, so where lists need too many rows
to match the walk, the walk is kept.

Nothing is copied: the lists hold row numbers only (8 bytes a row, and the centroids), never
vectors. Rows added after the lists were made (``covered`` onwards) are read by every scan, so an
index that grows between two snapshots stays correct; a snapshot extends its lists with the new
rows' nearest centroids, and trains new centroids only when the rows have doubled since.
"""

from __future__ import annotations

import bisect
import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from papertide.search.semantic.passages import Vectors

Rows = npt.NDArray[np.int64]
# What a scan must find on average, as (cut, recall) against exact search, where the graph's walk finds as much:
# the walk at its width found 0.998-1.000 of the top 10 and 0.91-0.98 of the top 100 for queries near the data at
# a million papers (issue 13).
RECALL_TARGETS = ((10, 0.99), (100, 0.95))
# Stored papers used as queries, the share of the others allowed, and the neighbours each query wants.
CALIBRATION_QUERIES = 50
CALIBRATION_SHARE = 0.1
CALIBRATION_K = 100
# Centroids trained on this many rows per list (k-means converges long before; training stays a few seconds).
TRAINING_ROWS_PER_LIST = 64
TRAINING_ITERATIONS = 10
# Below this many live rows an index has no lists: scoring a filter's rows exactly or walking the graph costs
# little there (at 10,000 rows an exact scan of every row takes about 2 ms), and a calibration on so few rows
# says little.
LISTS_MIN_ROWS = 10_000
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
    :param scored: admitted rows a scan scores to find up to ``CALIBRATION_K`` neighbours as well as the graph's
        walk does (``calibrate``); infinite where no scan does.
    """

    centroids: Vectors
    rows: Rows
    offsets: Rows
    scored: float = math.inf

    @property
    def covered(self) -> int:
        """How many rows the lists hold (rows from this one on were added since and are always read)."""
        return len(self.rows)

    @property
    def count(self) -> int:
        """How many lists."""
        return len(self.centroids)

    def in_memory(self) -> RowLists:
        """The same lists with their arrays copied into memory (off a snapshot's mapped files)."""
        return dataclasses.replace(
            self, centroids=np.array(self.centroids), rows=np.array(self.rows), offsets=np.array(self.offsets)
        )

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

        Unsorted, each row once. :param size: the index's rows now (``covered`` or more).
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


def scored_of(lists: RowLists | None) -> float | None:
    """What filtered.py weighs a scan by: the lists' calibrated ``scored``, None where there are no lists."""
    return None if lists is None else lists.scored


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
    """Lists from each row's list number (not calibrated yet)."""
    order = np.argsort(assigned, kind="stable").astype(np.int64)
    offsets = np.searchsorted(assigned[order], np.arange(len(centroids) + 1)).astype(np.int64)
    return RowLists(np.ascontiguousarray(centroids, dtype=np.float32), order, offsets)


def calibrate(
    lists: RowLists, vectors: Vectors, live: npt.NDArray[np.bool_], graph: Any = None, ef_search: int = 0, seed: int = 0
) -> RowLists:
    """``lists`` with ``scored`` measured on the index's own rows: what a scan needs to match the graph's walk.

    Stored papers serve as queries (as a real query lies near real papers) and a random
    ``CALIBRATION_SHARE`` of the other rows is allowed. For each query, each of its exact top
    ``CALIBRATION_K`` allowed rows is reached once the scan has read the lists up to that row's
    list, in the order of the query's centroid scores; the fewest rows read at which the mean
    recall meets every target gives ``scored`` (that many rows times the share: admitted rows scored).
    Each target is ``RECALL_TARGETS``' or, where lower, the mean recall of ``graph`` walked for the
    same queries as a filtered search walks it (filtered.py's width for ``ef_search``). About 0.3 s
    at a million rows: one product over the allowed rows and fifty walks.
    """
    rng = np.random.default_rng(seed)
    candidates = np.flatnonzero(live[: lists.covered])
    picked = np.sort(rng.choice(candidates, size=min(CALIBRATION_QUERIES, len(candidates) // 2), replace=False))
    allowed_mask = live[: lists.covered] & (rng.random(lists.covered) < CALIBRATION_SHARE)
    allowed_mask[picked] = False
    allowed = np.flatnonzero(allowed_mask)
    k = min(CALIBRATION_K, len(allowed))
    if len(picked) == 0 or k < RECALL_TARGETS[0][0]:
        return dataclasses.replace(lists, scored=math.inf)
    queries = np.ascontiguousarray(vectors[picked], dtype=np.float32)
    best = _exact_top_rows(vectors, queries, allowed, k)
    assignment = lists.assignment()
    sizes = lists.sizes()
    centroids = np.asarray(lists.centroids)
    reach = np.empty(best.shape, dtype=np.int64)
    for number, query in enumerate(queries):
        order = np.argsort(-(centroids @ query), kind="stable")
        read = np.empty(lists.count, dtype=np.int64)
        read[order] = np.cumsum(sizes[order])
        reach[number] = read[assignment[best[number]]]
    share = len(allowed) / max(1, len(candidates))
    targets: tuple[tuple[int, float], ...] = RECALL_TARGETS
    if graph is not None:
        walked = _walk_recall(graph, queries, allowed_mask, best, math.ceil(max(ef_search, k) / share))
        targets = tuple((cut, min(recall, walked(cut))) for cut, recall in RECALL_TARGETS)
    steps = np.unique(reach).tolist()
    # The recall of a scan only grows with the rows it reads: the first step that meets the targets is the least.
    first = bisect.bisect_left(steps, True, key=lambda step: _meets(reach, step, targets))
    if first == len(steps):
        return dataclasses.replace(lists, scored=math.inf)
    rows = int(steps[first])
    return dataclasses.replace(lists, scored=max(float(k), rows * share))


def rows_to_read(scored: float, k: int, share: float) -> float:
    """The rows a scan reads for ``k`` neighbours with ``share`` of the rows admitted (``scored``: RowLists.scored).

    The calibrated count covers up to ``CALIBRATION_K`` neighbours (the top 10 need nearly as many rows
    as the top 100: their neighbours spread over as many lists); beyond, it grows with ``k``.
    """
    return scored * max(1.0, k / CALIBRATION_K) / share


def _meets(reach: Rows, rows: int, targets: tuple[tuple[int, float], ...]) -> bool:
    """Whether reading ``rows`` rows finds, on average, each target's share of the top cut (columns: best first)."""
    return all(np.mean(reach[:, :cut] <= rows) >= recall for cut, recall in targets if cut <= reach.shape[1])


def _walk_recall(graph: Any, queries: Vectors, allowed: npt.NDArray[np.bool_], best: Rows, width: int) -> Any:
    """Each query walked as a filtered search walks at ``width``: a function of the cut, the mean recall of ``best``."""
    import faiss as faiss_module

    faiss: Any = faiss_module  # the bundled type stubs lack the search-parameter classes
    bitmap = np.packbits(allowed, bitorder="little")
    parameters = faiss.SearchParametersHNSW(efSearch=width)
    selector = faiss.IDSelectorBitmap(len(bitmap), faiss.swig_ptr(bitmap))
    parameters.sel = selector
    _, found = graph.search(queries, best.shape[1], params=parameters)

    def recall(cut: int) -> float:
        hits = [len(np.intersect1d(found[i], best[i, :cut])) / cut for i in range(len(best))]
        return float(np.mean(hits))

    return recall


def _exact_top_rows(vectors: Vectors, queries: Vectors, allowed: Rows, k: int) -> Rows:
    """Each query's ``k`` best ``allowed`` rows by inner product, best first (queries x k)."""
    top_rows = np.zeros((len(queries), 0), dtype=np.int64)
    top_scores = np.zeros((len(queries), 0), dtype=np.float32)
    for start in range(0, len(allowed), ASSIGN_BLOCK):
        rows = allowed[start : start + ASSIGN_BLOCK]
        scores = np.concatenate([top_scores, queries @ np.asarray(vectors[rows], dtype=np.float32).T], axis=1)
        joined = np.concatenate([top_rows, np.broadcast_to(rows, (len(queries), len(rows)))], axis=1)
        keep = np.argpartition(-scores, min(k, scores.shape[1]) - 1, axis=1)[:, :k]
        top_scores = np.take_along_axis(scores, keep, axis=1)
        top_rows = np.take_along_axis(joined, keep, axis=1)
    order = np.argsort(-top_scores, axis=1, kind="stable")
    ranked: Rows = np.take_along_axis(top_rows, order, axis=1)
    return ranked


def train_lists(
    vectors: Vectors, live: npt.NDArray[np.bool_], graph: Any = None, ef_search: int = 0, *, seed: int = 0
) -> RowLists:
    """Centroids trained (spherical k-means) on a sample of the ``live`` rows, every row assigned to one, calibrated.

    Deterministic for the same vectors: the sample and k-means take fixed seeds. ``graph``: the
    HNSW graph over ``vectors`` the scans must match (``calibrate``).
    """
    import faiss

    candidates = np.flatnonzero(live)
    lists = list_count(len(candidates))
    dim = vectors.shape[1]
    if lists <= 1:
        total = np.asarray(vectors[candidates], dtype=np.float32).sum(axis=0) if len(candidates) else np.ones(dim)
        centroid: Vectors = (total / max(float(np.linalg.norm(total)), 1e-12)).astype(np.float32)[None, :]
        return calibrate(group_rows(centroid, np.zeros(len(vectors), dtype=np.int64)), vectors, live, graph, ef_search)
    rng = np.random.default_rng(seed)
    picked = min(len(candidates), lists * TRAINING_ROWS_PER_LIST)
    # Sorted, so a memory-mapped matrix is read front to back.
    sample = np.ascontiguousarray(vectors[np.sort(rng.choice(candidates, size=picked, replace=False))], np.float32)
    kmeans: Any = faiss.Kmeans(
        dim, lists, niter=TRAINING_ITERATIONS, spherical=True, seed=seed, max_points_per_centroid=TRAINING_ROWS_PER_LIST
    )
    kmeans.train(sample)
    centroids = np.asarray(kmeans.centroids, dtype=np.float32)
    return calibrate(group_rows(centroids, assign_rows(centroids, vectors)), vectors, live, graph, ef_search)


def extend_lists(
    lists: RowLists, vectors: Vectors, live: npt.NDArray[np.bool_], graph: Any = None, ef_search: int = 0
) -> RowLists:
    """``lists`` with the rows added since (``covered`` onwards) in their nearest centroid's list, calibrated again."""
    if len(vectors) > lists.covered:
        added = assign_rows(np.asarray(lists.centroids), vectors[lists.covered :])
        lists = group_rows(np.asarray(lists.centroids), np.concatenate([lists.assignment(), added]))
    return calibrate(lists, vectors, live, graph, ef_search)


def lists_for(
    vectors: Vectors, live: npt.NDArray[np.bool_], previous: RowLists | None, graph: Any, ef_search: int
) -> RowLists:
    """The lists a snapshot of ``vectors`` (and of ``graph`` over them) stores.

    ``previous`` extended, or trained anew once rows have doubled; calibrated against ``graph``
    walked at ``ef_search`` either way.
    """
    if previous is not None and 2 * previous.covered >= len(vectors) and previous.covered <= len(vectors):
        return extend_lists(previous, vectors, live, graph, ef_search)
    return train_lists(vectors, live, graph, ef_search)


CENTROIDS_FILE = "list_centroids.npy"
ROWS_FILE = "list_rows.npy"
OFFSETS_FILE = "list_offsets.npy"
LISTS_KEY = "lists"
SCORED_KEY = "list_scored"


def save_lists(folder: Path, lists: RowLists, save: Any) -> dict[str, int | float | None]:
    """Write ``lists`` into snapshot ``folder`` with ``save(path, array)``; returns what the meta records."""
    save(folder / CENTROIDS_FILE, np.asarray(lists.centroids, dtype=np.float32))
    save(folder / ROWS_FILE, np.asarray(lists.rows, dtype=np.int64))
    save(folder / OFFSETS_FILE, np.asarray(lists.offsets, dtype=np.int64))
    # JSON has no infinity: null where no scan reaches the targets.
    return {LISTS_KEY: lists.count, SCORED_KEY: lists.scored if math.isfinite(lists.scored) else None}


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
    scored = meta.get(SCORED_KEY)
    if scored is None:
        return RowLists(centroids, rows, offsets)
    if isinstance(scored, bool) or not isinstance(scored, int | float) or not scored >= 1:
        raise ValueError(f"{SCORED_KEY} is {scored!r}, expected a number of at least 1")
    return RowLists(centroids, rows, offsets, float(scored))
