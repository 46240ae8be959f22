"""Filtered search (issue 13): the filter reaches both engines, and the results are the filtered top k.

A corpus of 1,500 papers with broad and narrow categories, dates and authors; each filter kind is
checked against brute force (filter the papers, then rank them by cosine) with the real lexical
index and the real semantic searcher (the hashing test model). The vector index is searched
exactly and through the HNSW graph with an ID selector, and with ``candidate_limit=0`` so that
every filter counts as broad: a search that fetched a few more neighbours than needed and
discarded those failing the filter would come back short of the top k here. The searcher serves
from its memory-mapped snapshot with a tenth of the papers embedded again since (its delta): their
snapshot rows are hidden through the same faiss selector (issue 14).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine

from papertide.domain.models import Paper
from papertide.search.query import SearchService
from papertide.search.request import SearchOptions, SearchRequest
from papertide.search.semantic.filtered import choose_filtered_search
from papertide.search.semantic.index import IndexConfig
from papertide.search.semantic.searcher import SemanticSearcher
from tests.search.hashing_embedder import HashingEmbedder
from tests.search.search_corpus import open_hashed_stores, paper_ids, store

WORDS = [
    "graph",
    "neural",
    "network",
    "protein",
    "folding",
    "quantum",
    "circuit",
    "galaxy",
    "survey",
    "market",
    "equilibrium",
    "policy",
]
WORDS += [
    "gradient",
    "descent",
    "lattice",
    "spin",
    "glass",
    "entropy",
    "sampling",
    "transformer",
    "vision",
    "robot",
    "control",
]
# Papers of the narrow category use words of their own: far in meaning from the other queries, so
# neighbours fetched without the filter would hold none of them.
NEURO_WORDS = ["neuron", "spike", "cortex", "synapse", "dendrite", "axon", "hippocampus", "plasticity"]
SURNAMES = ["Lovelace", "Turing", "Hopper", "Noether", "Franklin", "Curie", "Gauss", "Euler", "Ramanujan", "Yau"]
# cs.LG on about half the papers, q-bio.NC on a few: a broad and a narrow category.
CATEGORIES = ["cs.LG"] * 20 + ["math.OC"] * 10 + ["hep-th"] * 9 + ["q-bio.NC"]
START = dt.date(2020, 1, 1)
Keep = Callable[[Paper], bool]


def synthetic_papers(count: int) -> list[Paper]:
    rng = np.random.default_rng(13)
    made = []
    for number in range(count):
        categories = tuple(dict.fromkeys(CATEGORIES[int(i)] for i in rng.integers(len(CATEGORIES), size=2)))
        words = rng.choice(NEURO_WORDS if "q-bio.NC" in categories else WORDS, size=12)
        made.append(
            Paper(
                arxiv_id=f"2601.{number:05d}",
                title=" ".join(words[:4]).capitalize(),
                abstract=" ".join(words[4:]).capitalize() + ".",
                authors=tuple(f"Ada {SURNAMES[int(i)]}" for i in rng.choice(len(SURNAMES), size=2, replace=False)),
                categories=categories,
                primary_category="cs.LG",
                published=START + dt.timedelta(days=int(rng.integers(0, 2000))),
            )
        )
    return made


PAPERS = synthetic_papers(1500)
BY_ARXIV = {paper.arxiv_id: paper for paper in PAPERS}

# (filter text, the same filter as a predicate over papers)
FILTERS: dict[str, tuple[str, Keep]] = {
    "cat broad": ("cat:cs.LG", lambda p: "cs.LG" in p.categories),
    "cat narrow": ("cat:q-bio.NC", lambda p: "q-bio.NC" in p.categories),
    "archive": ("cat:q-bio", lambda p: "q-bio.NC" in p.categories),
    "since": ("since:2024-06-01", lambda p: p.published >= dt.date(2024, 6, 1)),
    "until": ("until:2020-06-30", lambda p: p.published <= dt.date(2020, 6, 30)),
    "author": ("author:Ramanujan", lambda p: any(a.endswith("Ramanujan") for a in p.authors)),
    "cat and since": (
        "cat:cs.LG since:2023-01-01",
        lambda p: "cs.LG" in p.categories and p.published >= dt.date(2023, 1, 1),
    ),
    "narrow cat and author": (
        "cat:q-bio.NC author:Euler",
        lambda p: "q-bio.NC" in p.categories and any(a.endswith("Euler") for a in p.authors),
    ),
    "author and until": (
        "author:Gauss until:2021-12-31",
        lambda p: any(a.endswith("Gauss") for a in p.authors) and p.published <= dt.date(2021, 12, 31),
    ),
}
QUERIES = ["graph neural network", "protein folding entropy", "quantum circuit sampling", "spike cortex plasticity"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Engine, Path]:
    from papertide.store.engine import make_engine
    from papertide.store.migrate import upgrade_database

    folder = tmp_path_factory.mktemp("filtered")
    engine = make_engine(f"sqlite:///{folder / 'papers.sqlite'}")
    upgrade_database(engine)
    store(engine, *PAPERS)
    return engine, folder


def build(corpus: tuple[Engine, Path], kind: str, cost: float) -> tuple[SearchService, SemanticSearcher]:
    engine, folder = corpus
    config = IndexConfig(kind=kind, hnsw_m=16, ef_construction=200, ef_search=64, graph_cost_ratio=cost)  # type: ignore[arg-type]
    lexical, semantic = open_hashed_stores(engine, folder, index_config=config, vectors=f"vectors-{kind}")
    options = SearchOptions(candidate_limit=0, similarity_floor=-1.0, max_results=200, fusion_depth=50)
    return SearchService(engine, lexical, lambda: semantic, options), semantic


def embed_some_again(semantic: SemanticSearcher, engine: Engine) -> None:
    """Give every tenth paper a new vector, pulled towards the first query, written as another process would."""
    from papertide.domain.clock import utc_now
    from papertide.search.semantic.vectors import fetch_papers_by_id, write_vectors
    from papertide.store.engine import begin_write

    pull = HashingEmbedder().embed_query(QUERIES[0])
    with engine.connect() as conn:
        chosen = fetch_papers_by_id(conn, sorted(paper_ids(engine).values())[::10])
    items = []
    for paper in chosen:
        current = semantic.index.vector(paper.id) if semantic.index is not None else None
        assert current is not None
        moved = current + pull
        items.append((paper, (moved / np.linalg.norm(moved)).astype(np.float32)))
    with begin_write(engine) as conn:
        write_vectors(conn, semantic.space, items, utc_now())
    semantic.refresh()


def brute_force(semantic: SemanticSearcher, engine: Engine, query: str, keep: Keep, k: int) -> list[tuple[str, float]]:
    """The ``k`` papers passing ``keep`` nearest to ``query``: (arXiv id, cosine), best first."""
    vector = HashingEmbedder().embed_query(query)
    assert semantic.index is not None
    scored = []
    for arxiv_id, paper_id in paper_ids(engine).items():
        stored = semantic.index.vector(paper_id)
        if keep(BY_ARXIV[arxiv_id]) and stored is not None:
            scored.append((-float(stored @ vector), arxiv_id))
    return [(arxiv_id, -score) for score, arxiv_id in sorted(scored)[:k]]


def semantic_page(service: SearchService, text: str, k: int) -> list[tuple[str, float]]:
    by_id = {value: key for key, value in paper_ids(service.engine).items()}
    page = service.search(SearchRequest(text=text, mode="semantic", per_page=k))
    return [(by_id[hit.paper_id], hit.score) for hit in page.hits]


def assert_same_top_k(found: list[tuple[str, float]], expected: list[tuple[str, float]], keep: Keep) -> None:
    """Same length and scores as brute force (papers of equal score may swap), every paper passing the filter."""
    assert len(found) == len(expected)
    assert [score for _, score in found] == pytest.approx([score for _, score in expected], abs=1e-5)
    assert len({arxiv_id for arxiv_id, _ in found}) == len(found)
    assert all(keep(BY_ARXIV[arxiv_id]) for arxiv_id, _ in found)


@pytest.mark.parametrize(
    ("kind", "cost"), [("exact", 8.0), ("hnsw", 1e9), ("hnsw", 1.0)], ids=["exact", "hnsw-scored", "hnsw-walked"]
)
def test_every_filter_kind_gives_the_filtered_top_k_of_brute_force(
    corpus: tuple[Engine, Path], kind: str, cost: float
) -> None:
    import faiss

    service, semantic = build(corpus, kind, cost)
    embed_some_again(semantic, service.engine)
    index = semantic.index
    # Served from the mapped snapshot, with the papers embedded again in the delta and hidden in the snapshot.
    assert index is not None and index.base is not None and len(index.hidden) == index.unsaved == 150
    walked = 0
    for name, (text, keep) in FILTERS.items():
        passing = sum(1 for paper in PAPERS if keep(paper))
        assert passing >= 5, name
        how = index.plan_filtered(passing, 21)
        walked += how.method == "graph"
        for query in QUERIES:
            expected = brute_force(semantic, service.engine, query, keep, 20)
            faiss.cvar.hnsw_stats.reset()
            found = semantic_page(service, f"{query} {text}", 20)
            # A graph walk in the mapped snapshot itself, not scores of vectors gathered out of it.
            assert (faiss.cvar.hnsw_stats.ndis > 0) == (how.method == "graph"), (name, query)
            if how.method == "exact":
                assert_same_top_k(found, expected, keep), (name, query)
            else:
                # The graph walk is approximate like any HNSW search, but never comes back short.
                assert len(found) == 20 and all(keep(BY_ARXIV[arxiv_id]) for arxiv_id, _ in found), (name, query)
                # Recall counting ties: a paper scoring as high as the 20th of brute force is as good.
                recall = sum(score >= expected[-1][1] - 1e-5 for _, score in found) / 20
                assert recall >= 0.9, (name, query, recall)
    assert (walked > 0) == (kind == "hnsw" and cost <= 1)


def test_hybrid_results_with_a_filter_all_pass_it_and_include_the_nearest_allowed_paper(
    corpus: tuple[Engine, Path],
) -> None:
    service, semantic = build(corpus, "hnsw", 1.0)
    by_id = {value: key for key, value in paper_ids(service.engine).items()}
    for name, (text, keep) in FILTERS.items():
        page = service.search(SearchRequest(text=f"quantum circuit sampling {text}", per_page=50))
        found = [BY_ARXIV[by_id[hit.paper_id]] for hit in page.hits]
        assert found and all(keep(paper) for paper in found), name
        best = brute_force(semantic, service.engine, "quantum circuit sampling", keep, 1)
        # The nearest allowed paper (or one as near: the narrow category's papers tie) is among them.
        nearest = max(hit.detail.get("semantic_score", -1.0) for hit in page.hits)
        assert nearest == pytest.approx(best[0][1], abs=1e-5), name


def test_a_filter_only_lists_every_paper_it_allows(corpus: tuple[Engine, Path]) -> None:
    service, _ = build(corpus, "exact", 8.0)
    text, keep = FILTERS["cat narrow"]
    page = service.search(SearchRequest(text=text, per_page=100))
    assert page.total == sum(1 for paper in PAPERS if keep(paper))


def test_a_cached_filter_sees_papers_added_after_it_was_cached(corpus: tuple[Engine, Path], tmp_path: Path) -> None:
    engine, _ = corpus
    service, semantic = build((engine, tmp_path), "exact", 8.0)
    query = "galaxy survey lattice cat:q-bio.NC"
    before = semantic_page(service, query, 200)
    assert service.search(SearchRequest(text=query, mode="semantic")).hits  # cached now
    assert service.allowed_cache.hits >= 1
    newcomer = Paper(
        arxiv_id="2612.99999",
        title="Galaxy survey lattice",
        abstract="Galaxy survey lattice galaxy survey lattice.",
        authors=("Ada Newcomer",),
        categories=("q-bio.NC",),
        primary_category="q-bio.NC",
        published=dt.date(2025, 1, 1),
    )
    try:
        store(engine, newcomer)
        semantic.sync()
        after = semantic_page(service, query, 200)
    finally:
        # The corpus is shared by this module's tests: take the newcomer out again.
        from sqlalchemy import delete

        from papertide.store.engine import begin_write
        from papertide.store.schema import papers

        with begin_write(engine) as conn:
            conn.execute(delete(papers).where(papers.c.arxiv_id == newcomer.arxiv_id))
    assert after[0][0] == newcomer.arxiv_id and after[1:] == before


def test_narrow_filters_are_scored_exactly_and_broad_ones_walk_the_graph() -> None:
    assert choose_filtered_search(5_000, 1_000_000, 200, "hnsw", ef_search=128, cost_ratio=8.0).method == "exact"
    broad = choose_filtered_search(400_000, 1_000_000, 200, "hnsw", ef_search=128, cost_ratio=8.0)
    # 200 neighbours among 40 % of the papers: a search width of 200 / 0.4.
    assert broad.method == "graph" and broad.width == 500
    assert choose_filtered_search(400_000, 1_000_000, 200, "exact", ef_search=128, cost_ratio=8.0).method == "exact"
