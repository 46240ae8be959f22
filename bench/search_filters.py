"""Filtered and plain hybrid search against their building blocks, for bench/search.py (issue 13).

Every figure is printed beside what it is compared with, measured in the same run:
- each filter kind (broad and narrow categories, since, until, author, combinations): p50/p95
  and the ratio of its p95 to plain hybrid's p95 (target: at most 1.5);
- plain hybrid p95 beside the sum of its blocks' p95 (query embedding, tantivy top k, vector
  search), with the ratio (target: at most 1.3);
- the same text again (a next page): the query embedding is reused.
Query embeddings are not reused across the timed queries (the cache is off for them), and the
ids of recent filters are (search/allowed.py): each filter's first row times it with its ids
kept (steady use), the "cold" rows clear that cache before each query to show what the first use
of a filter costs (a broad one is searched nearest first then: search/nearest_first.py).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from bench.search_corpus import Vocabulary
from papertide.domain.query import parse_query
from papertide.search.database_filter import compose_database_filter
from papertide.search.lexical.plan import compose_lexical_plan
from papertide.search.query import SearchService
from papertide.search.request import SearchRequest

Timer = Callable[[Callable[[str], object], list[str]], tuple[float, float]]


def filter_queries(vocabulary: Vocabulary, queries: list[str]) -> dict[str, list[str]]:
    """Each filter kind applied to the timed queries; author filters name a different author each time."""
    rng = np.random.default_rng(17)
    authors = [vocabulary.surnames[int(i)] for i in rng.integers(len(vocabulary.surnames), size=len(queries))]
    fixed = {
        "cat broad (cat:cs.LG)": " cat:cs.LG",
        "cat narrow (cat:cs.RO)": " cat:cs.RO",
        "since (since:2024-01-01)": " since:2024-01-01",
        "until (until:2016-01-01)": " until:2016-01-01",
        "cat broad + since": " cat:cs.LG since:2024-01-01",
        "cat narrow + until": " cat:cs.RO until:2020-01-01",
    }
    built = {label: [query + suffix for query in queries] for label, suffix in fixed.items()}
    built["author (a different one per query)"] = [f"{q} author:{a}" for q, a in zip(queries, authors, strict=True)]
    built["author + cat broad"] = [f"{q} author:{a} cat:cs.LG" for q, a in zip(queries, authors, strict=True)]
    return built


def describe_filter(service: SearchService, text: str, papers: int) -> str:
    """The share of papers a filter allows and how the vector index searches them."""
    options = service.options
    query = parse_query(text)
    plan = compose_lexical_plan(service.lexical.schema, query, options.field_weights)
    allowed = len(service.allowed_ids(plan, compose_database_filter(query, service.engine.dialect.name)))
    semantic: Any = service.semantic()
    index = semantic.index
    k = max(options.fusion_depth, options.max_results) if allowed <= options.candidate_limit else options.fusion_depth
    how = index.plan_filtered(allowed, k).describe() if index else "—"
    return f"{100 * allowed / max(papers, 1):.2f} % allowed, {how}"


def describe_first_use(service: SearchService, text: str, kept: str) -> str:
    """How a filter's first use searches: nearest first (search/nearest_first.py) or by reading its ids (``kept``)."""
    service.allowed_cache.clear()
    explain = service.search(SearchRequest(text=text, per_page=10)).explain
    service.allowed_cache.clear()
    for line in explain:
        if "checked on the" in line:
            return "nearest first: " + line.split(" among ", 1)[-1].split(" -> ", 1)[0]
    return kept


def measure_graph_cost(service: SearchService, queries: list[str]) -> str:
    """The cost of one unit of graph search width against one exact dot product, measured here."""
    semantic: Any = service.semantic()
    index = semantic.index
    if index is None or index.kind != "hnsw":
        return "not measured (the vector index is exact at this size)"
    vectors = [semantic.embedder.embed_query(query) for query in queries[:20]]
    config = index.config
    rng = np.random.default_rng(2)
    # The bench's papers have the ids 1..n: a tenth of them, at random.
    allowed = np.sort(rng.choice(np.arange(1, len(index) + 1), size=len(index) // 10, replace=False))
    # The snapshot's inverted lists (lists.py) are set aside while exact scores and the walk are timed.
    base = getattr(index, "base", None)
    lists = None if base is None else base.lists
    per_search, per_unit = {}, {}
    try:
        for label, ratio in (("exact", 1e12), ("graph", 1e-12), ("lists", 1e12)):
            index.config = dataclasses.replace(config, graph_cost_ratio=ratio)
            if base is not None:
                base.attach_lists(lists if label == "lists" else None)
            plan = index.plan_filtered(len(allowed), 100)
            if plan.method != label:
                continue  # no lists, or lists too coarse for this index to scan a tenth
            started = time.perf_counter()
            for vector in vectors:
                index.search(vector, 100, candidates=allowed)
            per_search[label] = (time.perf_counter() - started) / len(vectors)
            per_unit[label] = per_search[label] / (len(allowed) if label == "exact" else plan.width)
    finally:
        index.config = config
        if base is not None:
            base.attach_lists(lists)
    measured = per_unit["graph"] / per_unit["exact"]
    times = ", ".join(f"{label} {seconds * 1000:.2f} ms" for label, seconds in per_search.items())
    return f"{measured:.1f} (setting vector_filter_graph_cost: {config.graph_cost_ratio:g}; a tenth allowed: {times})"


def run_filters(
    service: SearchService,
    vocabulary: Vocabulary,
    queries: list[str],
    papers: int,
    time_queries: Timer,
    search: Callable[[str], object],
) -> list[str]:
    """Time plain hybrid, its blocks and each filter kind; returns the Markdown lines of the report."""
    options = service.options
    semantic: Any = service.semantic()
    embedder = semantic.embedder
    plans = {q: compose_lexical_plan(service.lexical.schema, parse_query(q), options.field_weights) for q in queries}
    vectors = {q: embedder.embed_query(q) for q in queries}
    blocks = {
        "query embedding": time_queries(embedder.embed_query, queries),
        f"tantivy top {options.fusion_depth}": time_queries(
            lambda q: (
                service.lexical.search(plans[q].ranked, options.fusion_depth, count=False) if plans[q].ranked else None
            ),
            queries,
        ),
        f"vector search top {options.max_results}": time_queries(
            lambda q: semantic.index.search(vectors[q], options.max_results), queries
        ),
    }
    hybrid = time_queries(search, queries)
    lines = ["| block or query | p50 / p95 ms | ratio |", "|---|---:|---:|"]
    for label, (p50, p95) in blocks.items():
        lines.append(f"| block: {label} | {p50:.2f} / {p95:.2f} | |")
    block_sum = sum(p95 for _, p95 in blocks.values())
    lines.append(f"| sum of the blocks' p95 | {block_sum:.2f} | |")
    lines.append(
        f"| **plain hybrid** | {hybrid[0]:.2f} / {hybrid[1]:.2f} | {hybrid[1] / block_sum:.2f}x the blocks (≤ 1.3) |"
    )
    print(lines[-1], flush=True)

    def next_page(query: str) -> object:
        return service.search(SearchRequest(text=query, page=2, per_page=10))

    semantic.query_vectors.size = 256
    for query in queries:
        service.search(SearchRequest(text=query, per_page=10))
    again = time_queries(next_page, queries)
    semantic.query_vectors.size = 0
    semantic.query_vectors.clear()
    lines.append(
        f"| hybrid, same text again (page 2, embedding reused) | {again[0]:.2f} / {again[1]:.2f} | "
        f"{again[1] / hybrid[1]:.2f}x plain hybrid |"
    )
    lines.append(
        "\n| filter (hybrid + filter) | allowed, vector search | p50 / p95 ms | p95 / plain hybrid p95 (≤ 1.5) |"
    )
    lines.append("|---|---|---:|---:|")
    kinds = filter_queries(vocabulary, queries)
    # Kept (each filter's first row): describe_filter has read the filter's ids, so these time a
    # filter in steady use. Cold: nothing kept; a broad filter goes nearest first (its ids are read
    # only after a few such uses, search/allowed.py ``rent``), others read their ids anew
    # (categories from the database, dates from SQLite's index or, on PostgreSQL, from tantivy).
    cold = {"cat broad (cat:cs.LG)", "since (since:2024-01-01)", "until (until:2016-01-01)", "cat broad + since"}
    for label, texts in kinds.items():
        how = describe_filter(service, texts[0], papers)
        timed = time_queries(search, texts)
        lines.append(f"| {label} | {how} | {timed[0]:.2f} / {timed[1]:.2f} | {timed[1] / hybrid[1]:.2f} |")
        print(lines[-1], flush=True)
        if label in cold:

            def first_use(query: str) -> object:
                service.allowed_cache.clear()
                return search(query)

            timed = time_queries(first_use, texts)
            lines.append(
                f"| {label}, filter cold | {describe_first_use(service, texts[0], how)} | "
                f"{timed[0]:.2f} / {timed[1]:.2f} | {timed[1] / hybrid[1]:.2f} |"
            )
            print(lines[-1], flush=True)
    lines.append(
        f"\nmeasured cost of a graph search width unit / an exact dot product: {measure_graph_cost(service, queries)}"
    )
    return lines
