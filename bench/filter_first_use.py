"""First and later uses of each filter kind beside plain hybrid, on a ``bench.search --keep`` folder (issue 13).

A filter's first use ("cold") forgets every kept allowed-id array before each query; later uses
("warm") keep them. Opens the folder read-only with bench/filter_profile.py's opener. Prints CPU time
(time.process_time: what a loaded machine distorts least) and wall time per query, p50 and p95,
and each p95 over plain hybrid's. Query embeddings are made before timing (both sides alike), so
the ratios are of the search without the model. Usage:

    cp -r FOLDER/search/lexical-v1 /tmp/lexical
    python -m bench.filter_first_use --folder FOLDER --lexical /tmp/lexical --queries 30
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from bench.filter_profile import open_kept_service
from bench.search_corpus import Vocabulary
from bench.search_filters import filter_queries
from papertide.domain.query import parse_query
from papertide.search.request import SearchRequest
from papertide.store.papers import get_papers


def percentiles(samples: list[float]) -> tuple[float, float]:
    """p50 and p95 of ``samples`` in ms."""
    return statistics.median(samples), statistics.quantiles(samples, n=20)[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, required=True)
    parser.add_argument("--lexical", type=Path, required=True, help="a copy of FOLDER/search/lexical-v1")
    parser.add_argument("--queries", type=int, default=30)
    args = parser.parse_args()
    service, ranker = open_kept_service(args.folder, args.lexical)
    engine = service.engine
    queries = Vocabulary().queries(np.random.default_rng(5), args.queries)
    groups = {"plain hybrid": list(queries), **filter_queries(Vocabulary(), queries)}
    for texts in groups.values():
        for text in texts:
            ranker.rank(parse_query(text).text, 1)

    def run(text: str) -> None:
        page = service.search(SearchRequest(text=text, mode="hybrid", per_page=10))
        with engine.connect() as conn:
            get_papers(conn, [hit.paper_id for hit in page.hits])

    def timed(texts: list[str], before: Callable[[], None]) -> tuple[list[float], list[float]]:
        wall, cpu = [], []
        for text in texts:
            before()
            started, used = time.perf_counter(), time.process_time()
            run(text)
            wall.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - used) * 1000)
        return wall, cpu

    for text in groups["plain hybrid"]:
        run(text)  # the graph's pages read once
    rows = []
    for label, texts in groups.items():
        cold = timed(texts, service.allowed_cache.clear)
        timed(texts, lambda: None)
        warm = timed(texts, lambda: None)
        rows.append((label, cold, warm))
        print(f"{label}: cold CPU p50 {percentiles(cold[1])[0]:.1f} ms, warm {percentiles(warm[1])[0]:.1f}", flush=True)
    base_wall = percentiles(rows[0][2][0])[1]
    base_cpu = percentiles(rows[0][2][1])[1]
    print(
        "\n| filter | cold CPU p50 / p95 ms | / plain | warm CPU p50 / p95 | / plain | cold wall p95 | warm wall p95 |"
    )
    print("|---|---|---|---|---|---|---|")
    for label, (cold_wall, cold_cpu), (warm_wall, warm_cpu) in rows:
        c50, c95 = percentiles(cold_cpu)
        w50, w95 = percentiles(warm_cpu)
        print(
            f"| {label} | {c50:.1f} / {c95:.1f} | {c95 / base_cpu:.2f} | {w50:.1f} / {w95:.1f} | {w95 / base_cpu:.2f} "
            f"| {percentiles(cold_wall)[1]:.1f} ({percentiles(cold_wall)[1] / base_wall:.2f}) "
            f"| {percentiles(warm_wall)[1]:.1f} ({percentiles(warm_wall)[1] / base_wall:.2f}) |"
        )


if __name__ == "__main__":
    main()
