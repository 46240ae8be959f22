"""Recall of filtered graph walks beside unfiltered ones, on the kept 1 M corpus and on SciFact (issue 13).

A broad filter walks the HNSW graph admitting only its papers, at the width filtered.py chooses
(``max(ef_search, k) / share``). Whether such a walk finds the right papers is only meaningful
beside what an unfiltered walk finds on the same graph with the same queries: synthetic
vectors are hard for HNSW, so a low filtered recall may not be the filter's doing. For each
query this prints recall@10/100/200 against the exact top k (over all papers, or over the
allowed ones) and the CPU ms of one search, at the chosen width, at 2x and 4x it (and at half of it for
a filter). Beside each filter's walks, the scan of the nearest inverted lists (lists.py) at the rows
filtered.py reads (lists.py ``rows_to_read``, as calibrated), at half and at twice them, whichever the plan picks:
the lists of the snapshot, or trained here (timed) for a snapshot written without them.

- ``--folder``: a ``bench.search --keep`` folder (read-only: SQLite opened immutable, the
  graph memory-mapped). Two query sets: the benches' text queries embedded by the ONNX model
  (far from every synthetic paper), and stored papers' vectors with the corpus's own noise
  (near the data, as a real query is near real papers).
- ``--scifact``: a vector snapshot folder of SciFact written by ``papertide eval`` (exact
  vectors.npy), with SciFact's claims as queries; an HNSW graph is built over it here with the
  default settings, and random filters of 10-60 % are applied.

Usage (one thread, CPU time per search; recall does not depend on the machine's load):

    python -m bench.filter_recall --folder DIR --queries 60      # DIR: a folder kept by bench.search --keep
    python -m bench.filter_recall --scifact WORKDIR/search/vectors/snapshot-5183-... \\
        --claims ../shared/data/scifact/queries.jsonl [--models MODELS]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from pydantic import SecretStr
from sqlalchemy import create_engine

from bench.postfix import cache_folder
from bench.search_corpus import Vocabulary
from papertide.config import Settings
from papertide.domain.query import parse_query
from papertide.search.database_filter import compose_database_filter, fetch_filter_ids
from papertide.search.semantic.admitted import (
    Admitted,
    StoredRows,
    _scan_lists,
    _search_graph,
    admit,
    row_lookup,
    row_vectors,
    rows_in,
)
from papertide.search.semantic.embedder import load_embedder
from papertide.search.semantic.filtered import choose_filtered_search
from papertide.search.semantic.index import IndexConfig
from papertide.search.semantic.lists import RowLists, load_lists, rows_to_read, train_lists
from papertide.search.semantic.mapped import open_mapped
from papertide.services import index_config

Matrix = npt.NDArray[np.float32]
CUTS = (10, 100, 200)
# search_similarity_floor's default: a paper found only by meaning below it is no result (docs/search-quality.md).
FLOOR = 0.30
FACTORS = (1, 2, 4)
# A filter's walk also at half the chosen width: is the rule wider than it needs to be?
FILTER_FACTORS = (0.5, *FACTORS)
# The lists' scan at half, one and two times the rows filtered.py reads.
LIST_FACTORS = (0.5, 1, 2)
FILTERS = {
    "cat broad (cat:cs.LG)": "x cat:cs.LG",
    "since (since:2024-01-01)": "x since:2024-01-01",
    "until (until:2016-01-01)": "x until:2016-01-01",
    "cat broad + since": "x cat:cs.LG since:2024-01-01",
}


@dataclass(frozen=True, slots=True)
class Measured:
    """Mean recall at each cut and mean CPU ms of one walk, over the queries, at one width."""

    width: int
    recall: tuple[float, ...]
    cpu_ms: float
    short: int
    above_floor: float
    floor_recall: float


def score_all(vectors: Matrix, queries: Matrix) -> Matrix:
    """Every row's score for every query (rows x queries), one product per block of rows: the rows are read once."""
    scores = np.empty((len(vectors), len(queries)), dtype=np.float32)
    step = 100_000
    for start in range(0, len(vectors), step):
        scores[start : start + step] = np.asarray(vectors[start : start + step]) @ queries.T
    return scores


Top = tuple[npt.NDArray[np.int64], Matrix]


def exact_tops(scores: Matrix, ids: npt.NDArray[np.int64], mask: npt.NDArray[np.bool_] | None, k: int) -> list[Top]:
    """The exact top ``k`` ids and scores of each query (a column of ``scores``) among the rows ``mask`` admits."""
    rows = np.flatnonzero(ids >= 0 if mask is None else mask & (ids >= 0))
    tops = []
    for column in range(scores.shape[1]):
        chosen = scores[rows, column]
        keep = np.argpartition(-chosen, min(k, len(chosen)) - 1)[:k]
        order = keep[np.argsort(-chosen[keep], kind="stable")]
        tops.append((ids[rows[order]], chosen[order]))
    return tops


def walk(
    stored: StoredRows,
    queries: Matrix,
    admitted: Admitted | None,
    k: int,
    width: int,
    exact: list[Top],
    scan: bool = False,
) -> Measured:
    """Walk the graph for every query at ``width`` (``scan``: read the nearest lists' ``width`` rows instead).

    Recall against ``exact`` and CPU ms per search. Also the recall of the exact neighbours at or
    above the similarity floor (the only ones a paper found by meaning alone can be a result for),
    over the queries that have any.
    """
    recalls = np.zeros(len(CUTS))
    spent, short = 0.0, 0
    above, floor_recall, with_above = 0, 0.0, 0
    for query, (truth, truth_scores) in zip(queries, exact, strict=True):
        started = time.process_time()
        if scan:
            assert admitted is not None
            found = _scan_lists(query, k, stored, admitted, width)
        else:
            found = _search_graph(query, k, stored, admitted, width)
        spent += time.process_time() - started
        short += len(found) < min(k, len(truth))
        got = found.ids
        for i, cut in enumerate(CUTS):
            expected = truth[:cut]
            recalls[i] += len(np.intersect1d(got[:cut], expected)) / max(1, len(expected))
        relevant = truth[truth_scores >= FLOOR]
        above += len(relevant)
        if len(relevant):
            with_above += 1
            floor_recall += len(np.intersect1d(got, relevant)) / len(relevant)
    n = len(queries)
    return Measured(
        width,
        tuple(recalls / n),
        spent * 1000 / n,
        short,
        above / n,
        floor_recall / with_above if with_above else float("nan"),
    )


def table(label: str, share: float, how: str, rows: Iterable[Measured], base: int) -> list[str]:
    """Markdown rows of one filter (or none): its share, the plan and each width's recall and CPU time."""
    lines = []
    for measured in rows:
        recall = " | ".join(f"{r:.3f}" for r in measured.recall)
        factor = f"{measured.width / base:.2g}x" if base else ""
        note = f" ({measured.short} short)" if measured.short else ""
        lines.append(
            f"| {label} | {100 * share:.1f} % | {how} | {measured.width:,} ({factor}) | {recall} | "
            f"{measured.above_floor:.0f}: {measured.floor_recall:.3f} | {measured.cpu_ms:.2f}{note} |"
        )
    return lines


HEADER = [
    f"| filter | allowed | plan (k 200) | width | recall@10 | @100 | @200 | top 200 ≥ {FLOOR:g}: recall "
    "| CPU ms / walk |",
    "|---|---:|---|---:|---:|---:|---:|---:|---:|",
]


def measure_all(
    stored: StoredRows,
    queries: Matrix,
    filters: dict[str, npt.NDArray[np.bool_]],
    config: IndexConfig,
    k: int,
    widths: Iterable[int] = (),
) -> list[str]:
    """The unfiltered walk and each filter's walk at the chosen width and its multiples."""
    vectors = row_vectors(stored, queries.shape[1])
    ids = np.asarray(stored.ids)
    live = int(np.count_nonzero(ids >= 0))
    lines = list(HEADER)
    scores = score_all(vectors, queries)
    exact = exact_tops(scores, ids, None, k)
    base = max(config.ef_search, k)
    chosen = sorted({base * f for f in FACTORS} | set(widths))
    lines += table(
        "none", 1.0, f"graph, width {base}", (walk(stored, queries, None, k, w, exact) for w in chosen), base
    )
    print("\n".join(lines), flush=True)
    for label, mask in filters.items():
        allowed = int(np.count_nonzero(mask))
        plan = choose_filtered_search(
            allowed, live, k, "hnsw", ef_search=config.ef_search, cost_ratio=config.graph_cost_ratio
        )
        # The width the rule gives, even where the plan scores exactly (small corpora).
        width = min(live, int(np.ceil(base / (allowed / live))))
        admitted = Admitted.of(mask)
        exact = exact_tops(scores, ids, mask, k)
        measured = [walk(stored, queries, admitted, k, min(live, round(width * f)), exact) for f in FILTER_FACTORS]
        lines += table(label, allowed / live, plan.describe(), measured, width)
        if stored.lists is not None:
            rows = int(np.ceil(rows_to_read(stored.lists.scored, k, allowed / live)))
            scans = [walk(stored, queries, admitted, k, round(rows * f), exact, scan=True) for f in LIST_FACTORS]
            lines += table(label, allowed / live, "lists: rows read", scans, rows)
            measured += scans
        print("\n".join(lines[-len(measured) :]), flush=True)
    return lines


def noisy_papers(vectors: Matrix, rng: np.random.Generator, count: int) -> Matrix:
    """Stored papers' vectors with the bench corpus's own noise (bench/search_corpus.py), normalised."""
    rows = np.sort(rng.choice(len(vectors), size=count, replace=False))
    chosen = np.asarray(vectors[rows], dtype=np.float32)
    noisy = chosen + 0.6 * rng.standard_normal(chosen.shape, dtype=np.float32) / np.sqrt(chosen.shape[1])
    normalised: Matrix = (noisy / np.linalg.norm(noisy, axis=1, keepdims=True)).astype(np.float32)
    return normalised


def with_lists(stored: StoredRows, dim: int, lists: RowLists | None) -> StoredRows:
    """``stored`` with its lists: those given, or trained here as a snapshot would (timed)."""
    if lists is None:
        started, cpu = time.perf_counter(), time.process_time()
        live = np.asarray(stored.ids) >= 0
        lists = train_lists(row_vectors(stored, dim), live, stored.graph, IndexConfig().ef_search)
        took, cpu = time.perf_counter() - started, time.process_time() - cpu
        print(f"trained {lists.count:,} lists over {lists.covered:,} rows: {took:.1f} s ({cpu:.1f} s CPU)", flush=True)
    print(f"lists: {lists.count:,}, admitted rows a scan scores for up to 100 neighbours: {lists.scored:,.0f}")
    return dataclasses.replace(stored, lists=lists)


def run_kept(folder: Path, count: int, models: Path | None) -> None:
    """Recall on a ``bench.search --keep`` folder, its filters read from its SQLite file."""
    settings = Settings(  # type: ignore[call-arg]
        data_dir=Path("/nonexistent"), secret_key=SecretStr("bench-secret-key-not-for-production"), vector_index="hnsw"
    )
    config = index_config(settings)
    vectors_dir = folder / "search" / "vectors"
    snapshot = vectors_dir / json.loads((vectors_dir / "current.json").read_text())["snapshot"]
    meta = json.loads((snapshot / "meta.json").read_text())
    ids = np.load(snapshot / "ids.npy", mmap_mode="r")
    mapped = open_mapped(snapshot, meta["dim"], meta["kind"], config, ids)
    stored: StoredRows = with_lists(mapped.rows, meta["dim"], load_lists(snapshot, meta, len(ids), meta["dim"]))
    lookup = row_lookup(np.asarray(ids))
    assert lookup is not None
    engine = create_engine(f"sqlite:///file:{folder / 'papertide.db'}?immutable=1&uri=true")
    filters = {}
    with engine.connect() as conn:
        for label, text in FILTERS.items():
            listed = compose_database_filter(parse_query(text), "sqlite")
            assert listed is not None
            rows = rows_in(lookup, np.asarray(fetch_filter_ids(conn, listed), dtype=np.int64))
            filters[label] = admit(len(ids), rows[rows >= 0])
    embedder = load_embedder(settings.embedding_model, "onnx", models or folder / "models")
    texts = Vocabulary().queries(np.random.default_rng(3), count)
    text_vectors = np.stack([embedder.embed_query(t) for t in texts]).astype(np.float32)
    sets = {
        "the benches' text queries (ONNX)": text_vectors,
        "stored papers' vectors + noise": noisy_papers(
            row_vectors(stored, meta["dim"]), np.random.default_rng(4), count
        ),
    }
    for name, queries in sets.items():
        print(f"\n{meta['size']:,} papers, {count} queries: {name}; k = 200, ef_search {config.ef_search}", flush=True)
        measure_all(stored, queries, filters, config, 200, widths=(1000,))


def run_scifact(snapshot: Path, claims: Path, models: Path, count: int) -> None:
    """Recall on SciFact's real embeddings: an HNSW graph built here, random filters of 10-60 %."""
    import faiss as faiss_module

    faiss: Any = faiss_module
    config = IndexConfig(kind="hnsw")
    matrix = np.ascontiguousarray(np.load(snapshot / "vectors.npy"), dtype=np.float32)
    ids = np.load(snapshot / "ids.npy").astype(np.int64)
    graph = faiss.IndexHNSWFlat(matrix.shape[1], config.hnsw_m, faiss.METRIC_INNER_PRODUCT)
    graph.hnsw.efConstruction = config.ef_construction
    graph.add(matrix)
    stored = with_lists(StoredRows(ids, None, graph), matrix.shape[1], None)
    embedder = load_embedder(Settings.model_fields["embedding_model"].default, "onnx", models)
    lines = [json.loads(line)["text"] for line in claims.read_text().splitlines() if line.strip()]
    rng = np.random.default_rng(5)
    picked = [lines[i] for i in np.sort(rng.choice(len(lines), size=min(count, len(lines)), replace=False))]
    queries = np.stack([embedder.embed_query(t) for t in picked]).astype(np.float32)
    filters = {}
    for share in (0.1, 0.2, 0.4, 0.6):
        mask = np.zeros(len(ids), dtype=bool)
        mask[rng.choice(len(ids), size=int(share * len(ids)), replace=False)] = True
        filters[f"random {share:.0%}"] = mask
    print(f"\nSciFact: {len(ids):,} papers, {len(picked)} claims; k = 200, ef_search {config.ef_search}", flush=True)
    measure_all(stored, queries, filters, config, 200)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, help="a bench.search --keep folder")
    parser.add_argument("--scifact", type=Path, help="a SciFact vector snapshot folder (vectors.npy, ids.npy)")
    parser.add_argument("--claims", type=Path, help="SciFact's queries.jsonl (needed with --scifact)")
    parser.add_argument(
        "--models", type=Path, help="ONNX model cache (default FOLDER/models, or the benches' cache with --scifact)"
    )
    parser.add_argument("--queries", type=int, default=60)
    args = parser.parse_args()
    if args.scifact and args.claims is None:
        parser.error("--scifact needs --claims (SciFact's queries.jsonl)")
    import faiss

    faiss.omp_set_num_threads(1)  # CPU time per search, and the shared machine's other core left alone
    if args.folder:
        run_kept(args.folder, args.queries, args.models)
    if args.scifact:
        run_scifact(args.scifact, args.claims, args.models or cache_folder() / "models", args.queries)


if __name__ == "__main__":
    main()
