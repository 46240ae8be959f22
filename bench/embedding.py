"""Embedding backends side by side: throughput, query latency and agreement with torch float32 (issues 4, 13).

Papers come from the bundled sample (real arXiv abstracts); each is embedded as papertide
embeds it (title-prefixed passages, search/semantic/passages.py). Queries are short phrases cut from
other papers' titles. Agreement is the cosine to the torch float32 vectors and the overlap of
the top-10 papers each backend retrieves for the queries. All backends run in one process,
one after another, so their ratios are comparable even on a busy machine: each rate is also
given as a ratio to ONNX float32 measured in the same run, and the bulk backend papertide
would choose on this machine is printed first (search/semantic/backends.py).

    .venv/bin/python -m bench.embedding                      # 300 papers, 60 queries
    .venv/bin/python -m bench.embedding --papers 100 --backends onnx onnx-int8
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from papertide.ingest.sample import open_sample
from papertide.search.semantic.backends import AUTO, fetch_capabilities, select_bulk_backend
from papertide.search.semantic.embedder import embed_papers, load_embedder
from papertide.search.semantic.model import BACKENDS, DEFAULT_MODEL, Embedder, ModelUnavailable
from papertide.search.semantic.passages import Vectors


def read_sample(count: int) -> list[tuple[str, str]]:
    with open_sample() as handle:
        records = [json.loads(line) for _, line in zip(range(count), handle, strict=False)]
    return [(" ".join(r["title"].split()), " ".join(r["abstract"].split())) for r in records]


def query_phrases(count: int, skip: int) -> list[str]:
    titles = [title for title, _ in read_sample(skip + count)[skip:]]
    return [" ".join(title.split()[:4]) for title in titles]


def measure(embedder: Embedder, papers: list[tuple[str, str]], queries: list[str]) -> dict[str, object]:
    embed_papers(embedder, papers[:4])
    started = time.perf_counter()
    vectors = embed_papers(embedder, papers, batch_size=32)
    seconds = time.perf_counter() - started
    latencies = []
    query_vectors = []
    for query in queries:
        began = time.perf_counter()
        query_vectors.append(embedder.embed_query(query))
        latencies.append((time.perf_counter() - began) * 1000)
    latencies.sort()
    return {
        "vectors": vectors,
        "queries": np.stack(query_vectors),
        "papers_per_s": len(papers) / seconds,
        "query_p50_ms": statistics.median(latencies),
        "query_p95_ms": latencies[int(0.95 * (len(latencies) - 1))],
    }


def top10(papers: Vectors, queries: Vectors) -> list[set[int]]:
    return [set(np.argsort(-(papers @ q))[:10].tolist()) for q in queries]


def main(count: int, query_count: int, backends: list[str], threads: int) -> None:
    papers = read_sample(count)
    queries = query_phrases(query_count, skip=count)
    print(f"{len(papers)} papers, {len(queries)} queries, {threads or 'all'} threads")
    choice = select_bulk_backend(AUTO, DEFAULT_MODEL, "onnx", fetch_capabilities())
    print(f"bulk backend chosen here: {choice.backend} ({choice.reason})")
    results: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory(prefix="papertide-bench-") as cache:
        for backend in backends:
            try:
                embedder = load_embedder(DEFAULT_MODEL, backend, Path(cache), threads=threads)
            except ModelUnavailable as error:
                print(f"{backend:<11} not available here: {error}")
                continue
            results[backend] = measure(embedder, papers, queries)
    reference = results.get("torch")
    onnx_rate = results["onnx"]["papers_per_s"] if "onnx" in results else None
    print(
        f"{'backend':<11} {'papers/s':>9} {'vs onnx':>8} {'query p50':>10} {'query p95':>10} {'cos min':>8} "
        f"{'top-10 overlap':>15}"
    )
    for backend, result in results.items():
        agreement, overlap = "-", "-"
        if reference is not None and backend != "torch":
            vectors, base = result["vectors"], reference["vectors"]
            agreement = f"{float(np.min(np.sum(vectors * base, axis=1))):.5f}"  # type: ignore[operator]
            mine = top10(vectors, result["queries"])  # type: ignore[arg-type]
            theirs = top10(base, reference["queries"])  # type: ignore[arg-type]
            overlap = f"{np.mean([len(a & b) / 10 for a, b in zip(mine, theirs, strict=True)]):.3f}"
        ratio = f"{result['papers_per_s'] / onnx_rate:.2f}x" if onnx_rate else "-"  # type: ignore[operator]
        print(
            f"{backend:<11} {result['papers_per_s']:>9.1f} {ratio:>8} {result['query_p50_ms']:>8.1f}ms "
            f"{result['query_p95_ms']:>8.1f}ms {agreement:>8} {overlap:>15}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=300)
    parser.add_argument("--queries", type=int, default=60)
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS), choices=BACKENDS)
    parser.add_argument("--threads", type=int, default=0)
    arguments = parser.parse_args()
    main(arguments.papers, arguments.queries, arguments.backends, arguments.threads)
