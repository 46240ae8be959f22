"""Broad filters searched nearest first give what their allowed ids give (issue 13, search/nearest_first.py).

A real database (both dialects), lexical index and semantic searcher (the hashing test model,
exact vector index, so both paths are exact and must agree to the paper). Two services over the
same stores: one whose cost model always checks broad filters on the nearest papers, one that
never does (it reads the allowed ids, as before). Papers stored and embedded after the lexical
index was built, or moved out of a category since, must be treated alike by both: the check asks
the database, as reading the allowed ids does.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from sqlalchemy import Engine

from papertide.domain.models import Paper
from papertide.domain.query import parse_query
from papertide.search import nearest_first as nearest_module
from papertide.search.database_filter import compose_checked_filter
from papertide.search.lexical.index import LexicalIndex
from papertide.search.nearest_first import estimate_share, rank_nearest_first
from papertide.search.query import SearchService
from papertide.search.ranked import Ranked
from papertide.search.request import SearchOptions, SearchPage, SearchRequest
from papertide.search.semantic import filtered
from papertide.search.semantic.filtered import choose_nearest_first, uses_before_reading
from papertide.search.semantic.searcher import SemanticSearcher
from tests.search.search_corpus import open_hashed_stores, revised, store
from tests.search.test_filtered_search import QUERIES, synthetic_papers

PAPERS = synthetic_papers(400)
BROAD = ["cat:cs.LG", "cat:cs", "since:2021-06-01", "until:2024-06-30", "cat:cs.LG since:2020-09-01"]
CHECKED = "checked on the"


def open_stores(engine: Engine, folder: Path) -> tuple[LexicalIndex, SemanticSearcher]:
    return open_hashed_stores(engine, folder)


def services(engine: Engine, folder: Path) -> tuple[SearchService, SearchService, SemanticSearcher]:
    """(nearest first where broad, always by allowed ids) over the same stores."""
    store(engine, *PAPERS)
    lexical, semantic = open_stores(engine, folder)
    options = SearchOptions(candidate_limit=0, similarity_floor=-1.0, max_results=200, fusion_depth=20)
    return (
        SearchService(engine, lexical, lambda: semantic, options),
        SearchService(engine, lexical, lambda: semantic, options),
        semantic,
    )


def search(service: SearchService, text: str, *, nearest_first: bool, mode: str = "semantic") -> SearchPage:
    with pytest.MonkeyPatch.context() as patch:
        # A cost model that always (0) or never (infinity) prefers checking the nearest papers.
        patch.setattr(filtered, "NEAREST_FIRST_COST_RATIO", 0.0 if nearest_first else float("inf"))
        # As a snapshot written before its days and categories: a broad filter with dates that the
        # snapshot answers is read from it, never nearest first (test_snapshot_categories.py).
        patch.setattr(SemanticSearcher, "published_days", lambda self: None)
        return service.search(SearchRequest(text=text, mode=mode, per_page=20))  # type: ignore[arg-type]


def assert_same(first: SearchPage, second: SearchPage) -> None:
    """Same scores in the same order, and the same papers, save those tied at the page's last score."""
    scores = [round(hit.score, 5) for hit in first.hits]
    assert scores == [round(hit.score, 5) for hit in second.hits]
    last = scores[-1] if scores else None

    def above_last(page: SearchPage) -> set[tuple[int, float]]:
        return {(hit.paper_id, round(hit.score, 5)) for hit in page.hits if round(hit.score, 5) != last}

    assert above_last(first) == above_last(second)
    assert (first.total, first.total_exact) == (second.total, second.total_exact)


def test_broad_filters_searched_nearest_first_give_the_results_of_their_allowed_ids(
    engine: Engine, tmp_path: Path
) -> None:
    quick, exact, _ = services(engine, tmp_path)
    for text in BROAD:
        for query in QUERIES:
            for mode in ("semantic", "hybrid"):
                found = search(quick, f"{query} {text}", nearest_first=True, mode=mode)
                assert any(CHECKED in line for line in found.explain), (text, query, found.explain)
                expected = search(exact, f"{query} {text}", nearest_first=False, mode=mode)
                assert not any(CHECKED in line for line in expected.explain)
                assert found.hits, (text, query)
                assert_same(found, expected)
    # Nearest first never read a filter's ids: nothing was kept.
    assert quick.allowed_cache.misses == 0


def test_a_filter_few_neighbours_pass_falls_back_to_its_allowed_ids(engine: Engine, tmp_path: Path) -> None:
    quick, exact, _ = services(engine, tmp_path)
    # The narrow category's papers have words of their own: the neighbours of these queries are not in it.
    text = "graph neural network cat:q-bio.NC"
    found = search(quick, text, nearest_first=True)
    assert not any(CHECKED in line for line in found.explain)
    assert quick.allowed_cache.misses == 1 and quick.allowed_cache.holds("+category:(q-bio.nc)")
    assert_same(found, search(exact, text, nearest_first=False))


def test_papers_stored_or_changed_after_the_index_was_built_are_checked_as_the_allowed_ids_read_them(
    engine: Engine, tmp_path: Path
) -> None:
    quick, exact, semantic = services(engine, tmp_path)
    query = QUERIES[0]
    before = search(exact, f"{query} cat:cs.LG", nearest_first=False)
    newcomer = Paper(
        arxiv_id="2612.99999",
        title=query.capitalize(),
        abstract=f"{query.capitalize()}. {query.capitalize()}.",
        authors=("Ada Newcomer",),
        categories=("cs.LG",),
        primary_category="cs.LG",
        published=dt.date(2024, 1, 1),
    )
    # The best cs.LG paper leaves the category; a newcomer near the query joins it.
    best = next(p for p in PAPERS if p.arxiv_id == _arxiv_of(engine, before.hits[0].paper_id))
    store(engine, newcomer, revised(best, categories=("math.OC",)))
    semantic.sync()
    for text in ("cat:cs.LG", "cat:cs.LG since:2020-09-01"):
        found = search(quick, f"{query} {text}", nearest_first=True)
        assert any(CHECKED in line for line in found.explain)
        assert_same(found, search(exact, f"{query} {text}", nearest_first=False))
        ids = [_arxiv_of(engine, hit.paper_id) for hit in found.hits]
        assert newcomer.arxiv_id in ids and best.arxiv_id not in ids


def test_a_broad_filter_goes_nearest_first_until_that_has_cost_what_reading_its_ids_costs_then_keeps_them(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    quick, exact, _ = services(engine, tmp_path)
    # Three searches' checks cost what one read of the ids costs, here.
    monkeypatch.setattr(nearest_module, "uses_before_reading", lambda share, read, total: 3.0)
    texts = [f"{query} cat:cs.LG" for query in QUERIES]
    ways = []
    for number in range(6):
        text = texts[number % len(texts)]
        found = search(quick, text, nearest_first=True)
        ways.append(any(CHECKED in line for line in found.explain))
        assert_same(found, search(exact, text, nearest_first=False))
    # Nearest first three times; the fourth reads the ids and keeps them; later ones use the kept ids.
    assert ways == [True, True, True, False, False, False]
    assert quick.allowed_cache.misses == 1 and quick.allowed_cache.holds("+category:(cs.lg)")
    assert quick.allowed_cache.hits == 2
    # Forgetting the kept ids (a cold start) starts the count again.
    quick.allowed_cache.clear()
    assert any(CHECKED in line for line in search(quick, texts[0], nearest_first=True).explain)


def test_searches_before_reading_grow_with_what_reading_costs_against_what_one_check_costs() -> None:
    # cat:cs.LG at a million papers: 587,000 ids against 512 neighbours checked at 150 ids each.
    assert int(uses_before_reading(0.587, 512, 1_000_000)) == 7
    # A filter twice as broad is worth twice the searches; one read at least, never zero.
    assert uses_before_reading(0.9, 512, 1_000_000) > uses_before_reading(0.45, 512, 1_000_000) * 1.9
    assert uses_before_reading(0.3, 512, 10_000) == 1.0


def _arxiv_of(engine: Engine, paper_id: int) -> str:
    from sqlalchemy import select

    from papertide.store.schema import papers

    with engine.connect() as conn:
        return str(conn.execute(select(papers.c.arxiv_id).where(papers.c.id == paper_id)).scalar_one())


def test_the_share_of_a_filter_is_estimated_from_the_index_counts(engine: Engine, tmp_path: Path) -> None:
    store(engine, *PAPERS)
    lexical, _ = open_stores(engine, tmp_path)
    span = (min(p.published for p in PAPERS if p.published), max(p.published for p in PAPERS if p.published))
    # Exact for a category and for ranges of at most DAY_SAMPLES days; a sample of the days beyond.
    for text, keep, tolerance in [
        ("cat:cs.LG", lambda p: "cs.LG" in p.categories, 0.0),
        ("since:2025-01-01", lambda p: p.published >= dt.date(2025, 1, 1), 0.0),
        ("cat:cs.LG until:2020-03-01", lambda p: "cs.LG" in p.categories and p.published <= dt.date(2020, 3, 1), 0.05),
        ("since:2021-06-01", lambda p: p.published >= dt.date(2021, 6, 1), 0.1),
        ("until:2021-06-01", lambda p: p.published <= dt.date(2021, 6, 1), 0.1),
    ]:
        checked = compose_checked_filter(parse_query(text))
        assert checked is not None
        share = estimate_share(lexical.searcher(), checked, len(PAPERS), lambda: span)
        truth = sum(1 for p in PAPERS if keep(p)) / len(PAPERS)
        assert share == pytest.approx(truth, abs=tolerance + 1e-9), text
    # Phrases and authors are not estimated: their allowed ids are read.
    assert compose_checked_filter(parse_query('"graph" cat:cs.LG')) is None
    assert compose_checked_filter(parse_query("author:Euler")) is None


def test_nearest_first_is_chosen_only_where_it_costs_less_than_reading_the_allowed_ids() -> None:
    # 200 neighbours of a filter passing 60 % of a million papers: 500 read, not 600,000 ids.
    assert choose_nearest_first(0.6, 200, 1_000_000) == 500
    assert choose_nearest_first(0.25, 200, 1_000_000) == 1200
    # Crossover near sqrt(200 * 1.5 * 150 / total): 21 % at a million papers, 67 % at 100,000.
    assert choose_nearest_first(0.18, 200, 1_000_000) is None
    assert choose_nearest_first(0.6, 200, 100_000) is None
    assert choose_nearest_first(0.75, 200, 100_000) == 400
    assert choose_nearest_first(0.0, 200, 1_000_000) is None


def test_the_nearest_are_checked_first_and_the_others_only_when_too_few_of_them_pass() -> None:
    nearest = Ranked.of(np.arange(100, 0, -1), np.linspace(1.0, 0.0, 100))  # ids 100..1, best first
    asked: list[list[int]] = []

    def keep_even(ids: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        asked.append(ids.tolist())
        return ids[ids % 2 == 0]

    found = rank_nearest_first(lambda read: nearest.head(read), keep_even, 10, 60, first=30)
    assert found is not None and found.ids.tolist() == list(range(100, 80, -2))
    assert [len(ids) for ids in asked] == [30]  # 15 of the first 30 pass: the other 30 never asked about
    asked.clear()
    found = rank_nearest_first(lambda read: nearest.head(read), keep_even, 20, 60, first=30)
    assert found is not None and found.ids.tolist() == list(range(100, 60, -2))
    assert [len(ids) for ids in asked] == [30, 30]
    # Too few pass among those read: the allowed ids are read instead (None); all read: those passing.
    assert rank_nearest_first(lambda read: nearest.head(read), keep_even, 40, 60, first=30) is None
    found = rank_nearest_first(lambda read: nearest.head(read), keep_even, 60, 120, first=30)
    assert found is not None and len(found) == 50
