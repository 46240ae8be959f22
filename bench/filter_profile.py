"""Where the time of a filtered hybrid search goes, on a folder built by ``bench.search --keep`` (issue 13).

Opens that folder without writing into it: the database read-only (SQLite ``immutable=1``: not
even a -wal or -shm file), the lexical index from a copy (``--lexical``: tantivy readers may tidy
files), the vector snapshot memory-mapped read-only. Times each filter kind's hybrid search in
one run beside plain hybrid, with cProfile's per-function totals (``--profile``), so the parts
(allowed ids, the admitted bitmap, the graph walk, the lexical side, fusion) can be compared. Usage:

    cp -r FOLDER/search/lexical-v1 /tmp/lexical
    python -m bench.filter_profile --folder FOLDER --lexical /tmp/lexical --queries 30
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import statistics
import time
from collections.abc import Collection
from pathlib import Path

import numpy as np
import tantivy
from sqlalchemy import Engine, create_engine

from bench.search_corpus import Vocabulary
from bench.search_filters import filter_queries
from papertide.config import Settings
from papertide.domain.models import Hit
from papertide.domain.query import parse_query
from papertide.search.database_filter import compose_database_filter, fetch_filter_ids
from papertide.search.lexical.analyzer import register_analyzers
from papertide.search.lexical.index import LexicalIndex
from papertide.search.lexical.plan import compose_lexical_plan
from papertide.search.query import SearchService
from papertide.search.ranked import Ranked
from papertide.search.request import SearchRequest
from papertide.search.semantic.embedder import load_embedder
from papertide.search.semantic.mapped import MappedIndex, open_mapped
from papertide.search.semantic.model import Embedder
from papertide.services import index_config, search_options
from papertide.store.papers import get_papers


class MappedRanker:
    """The semantic side over a mapped snapshot alone (the bench folder has no delta)."""

    def __init__(self, index: MappedIndex, embedder: Embedder) -> None:
        self.index = index
        self.embedder = embedder
        self.vectors: dict[str, np.ndarray] = {}

    def rank(self, query: str, k: int, candidates: Collection[int] | None = None) -> Ranked:
        vector = self.vectors.get(query)
        if vector is None:
            vector = self.vectors[query] = self.embedder.embed_query(query)
        return self.index.nearest(vector, k, candidates)

    def search(self, query: str, k: int, candidates: Collection[int] | None = None) -> list[Hit]:
        return [Hit(paper_id=i, score=s) for i, s in self.rank(query, k, candidates).pairs()]

    def similar(self, paper_id: int, k: int) -> list[Hit]:
        return []


def open_lexical(engine: Engine, path: Path) -> LexicalIndex:
    """The lexical index at ``path`` opened for reading only (no catch-up with the read-only database)."""
    lexical = LexicalIndex(engine, path)
    index = tantivy.Index.open(str(path))
    register_analyzers(index)
    index.config_reader(reload_policy="manual")
    lexical._index = index
    lexical._read_meta()
    lexical._opened = True
    lexical.refresh = lambda: None  # type: ignore[method-assign]
    return lexical


def print_patching(service: SearchService, changed: int) -> None:
    """A broad filter's ids read anew (first use, or main before patching) against patched for ``changed`` papers."""
    try:
        from papertide.search.allowed import apply_changes
    except ImportError:
        return  # a checkout from before patching
    lexical = service.lexical
    rng = np.random.default_rng(9)
    print(
        f"\n| filter | ids read anew from tantivy (CPU) | from the database (CPU) | patched for {changed:,} changed |"
        "\n|---|---|---|---|"
    )
    for text in (" cat:cs.LG", " cat:cs", " since:2024-01-01", " until:2016-01-01"):
        query = parse_query(text)
        plan = compose_lexical_plan(lexical.schema, query, service.options.field_weights)
        required = plan.required
        assert required is not None
        started = time.process_time()
        kept = lexical.matching_ids(required, lexical.count(required))
        read = time.process_time() - started
        listed = compose_database_filter(query, "sqlite")
        assert listed is not None
        started = time.process_time()
        with service.engine.connect() as conn:
            assert np.array_equal(fetch_filter_ids(conn, listed), kept)
        database = time.process_time() - started
        ids = np.sort(rng.choice(np.arange(1, lexical.paper_count + 1), size=changed, replace=False))
        started = time.perf_counter()
        passing = lexical.keep_matching(required, ids.tolist())
        apply_changes(kept, ids, np.fromiter(passing, dtype=np.int64))
        patched = time.perf_counter() - started
        print(
            f"| {text.strip()} ({len(kept):,} ids) | {read * 1000:.0f} ms | {database * 1000:.0f} ms "
            f"| {patched * 1000:.1f} ms |"
        )


def open_kept_service(folder: Path, lexical: Path, models: Path | None = None) -> tuple[SearchService, MappedRanker]:
    """A SearchService over a ``bench.search --keep`` folder, read-only: its SQLite file immutable, its snapshot mapped.

    ``lexical`` is a copy of the folder's lexical index (opening one writes to it); ``models``
    defaults to the folder's. Shared by the filter benches (filter_profile, filter_first_use).
    """
    settings = Settings(  # type: ignore[call-arg]
        data_dir=Path("/nonexistent"), secret_key="bench-secret-key-not-for-production", vector_index="hnsw"
    )
    engine = create_engine(f"sqlite:///file:{folder / 'papertide.db'}?immutable=1&uri=true")
    vectors = folder / "search" / "vectors"
    snapshot = vectors / json.loads((vectors / "current.json").read_text())["snapshot"]
    meta = json.loads((snapshot / "meta.json").read_text())
    ids = np.load(snapshot / "ids.npy", mmap_mode="r")
    mapped = open_mapped(snapshot, meta["dim"], meta["kind"], index_config(settings), ids)
    ranker = MappedRanker(mapped, load_embedder(settings.embedding_model, "onnx", models or folder / "models"))
    service = SearchService(engine, open_lexical(engine, lexical), lambda: ranker, search_options(settings))
    return service, ranker


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, required=True)
    parser.add_argument("--lexical", type=Path, required=True, help="a copy of FOLDER/search/lexical-v1")
    parser.add_argument("--models", type=Path, help="model cache (default FOLDER/models)")
    parser.add_argument("--queries", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=2, help="timed passes over the queries (the first warms)")
    parser.add_argument("--profile", action="store_true", help="print cProfile totals per filter")
    parser.add_argument("--changed", type=int, default=1000, help="papers changed by the commit patching is timed for")
    args = parser.parse_args()
    service, ranker = open_kept_service(args.folder, args.lexical, args.models)
    engine = service.engine
    queries = Vocabulary().queries(np.random.default_rng(3), args.queries)
    for query in queries:
        ranker.rank(query, 1)  # embeddings are not what is profiled here
    groups = {"plain hybrid": list(queries), **filter_queries(Vocabulary(), queries)}

    def run(text: str) -> None:
        page = service.search(SearchRequest(text=text, mode="hybrid", per_page=10))
        with engine.connect() as conn:
            get_papers(conn, [hit.paper_id for hit in page.hits])

    # Wall time, and the process's CPU time (what a loaded machine distorts least).
    results: dict[str, tuple[float, float]] = {}
    cpu_results: dict[str, tuple[float, float]] = {}
    for label, texts in groups.items():
        for text in texts:
            run(text)  # warm: allowed ids kept, the mapped graph's pages read
        samples, cpu = [], []
        profile = cProfile.Profile() if args.profile else None
        for _ in range(args.rounds):
            for text in texts:
                started, used = time.perf_counter(), time.process_time()
                if profile is not None:
                    profile.enable()
                run(text)
                if profile is not None:
                    profile.disable()
                samples.append((time.perf_counter() - started) * 1000)
                cpu.append((time.process_time() - used) * 1000)
        results[label] = (statistics.median(samples), statistics.quantiles(samples, n=20)[-1])
        cpu_results[label] = (statistics.median(cpu), statistics.quantiles(cpu, n=20)[-1])
        print(f"{label}: p50 {results[label][0]:.1f} ms, p95 {results[label][1]:.1f} ms", flush=True)
        if profile is not None:
            out = io.StringIO()
            pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(14)
            print("\n".join(out.getvalue().splitlines()[6:24]), flush=True)
    print_patching(service, args.changed)
    base, cpu_base = results["plain hybrid"][1], cpu_results["plain hybrid"][1]
    print("\n| filter | wall p50 / p95 ms | p95 / plain | CPU p50 / p95 ms | CPU p95 / plain |")
    print("|---|---|---|---|---|")
    for label, (p50, p95) in results.items():
        cpu50, cpu95 = cpu_results[label]
        wall = f"{p50:.1f} / {p95:.1f} | {p95 / base:.2f}"
        print(f"| {label} | {wall} | {cpu50:.1f} / {cpu95:.1f} | {cpu95 / cpu_base:.2f} |")


if __name__ == "__main__":
    main()
