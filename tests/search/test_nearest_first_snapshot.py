"""A broad filter's nearest papers are checked against the vector snapshot, not the database (issue 13).

search/nearest_first.py checks the nearest papers of a broad filter's first uses. When the
snapshot keeps every paper's days and categories (semantic/days.py, semantic/categories.py), the
check reads them there and asks the database only about the papers changed since the snapshot,
so its answer stays the database's. A real database (both dialects), lexical index and semantic
searcher (hashing test model, exact vector index): each filter searched nearest first against the
snapshot must give what reading its allowed ids gives, after papers are added, recategorised or
moved in time since the snapshot, and when too many changed (the database answers then).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import Engine

from papertide.domain.models import Paper
from papertide.domain.query import parse_query
from papertide.search import nearest_first as nearest_module
from papertide.search.database_filter import compose_checked_filter, fetch_filter_ids
from papertide.search.query import SearchService
from papertide.search.request import SearchOptions, SearchPage, SearchRequest
from papertide.search.semantic import filtered
from papertide.search.semantic.categories import compose_paper_categories
from papertide.search.semantic.days import NO_DAY, PublishedDays, day_number
from papertide.search.semantic.searcher import SemanticSearcher
from tests.search.search_corpus import open_hashed_stores, paper_ids, revised, store
from tests.search.test_filtered_search import QUERIES, synthetic_papers
from tests.search.test_nearest_first import CHECKED, assert_same

PAPERS = synthetic_papers(400)
CATEGORY_FILTERS = ["cat:cs.LG", "cat:cs", "cat:CS.lg", "cat:hep-th cat:math.OC"]


class DatabaseChecks:
    """The ids the database was asked to check, call by call (what the snapshot's check replaces)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.asked: list[list[int]] = []
        keep = nearest_module.keep_passing_ids

        def counted(conn: Any, checked: Any, paper_ids: Any) -> Any:
            self.asked.append([int(i) for i in paper_ids])
            return keep(conn, checked, paper_ids)

        monkeypatch.setattr(nearest_module, "keep_passing_ids", counted)


def open_service(engine: Engine, folder: Path) -> tuple[SearchService, SemanticSearcher]:
    store(engine, *PAPERS)
    lexical, semantic = open_hashed_stores(engine, folder)
    options = SearchOptions(candidate_limit=0, similarity_floor=-1.0, max_results=200, fusion_depth=20)
    return SearchService(engine, lexical, lambda: semantic, options), semantic


def search(service: SearchService, text: str, *, nearest_first: bool, mode: str = "semantic") -> SearchPage:
    """A first use of the filter, nearest first (the cost model always prefers it) or by its allowed ids."""
    service.allowed_cache.clear()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(filtered, "NEAREST_FIRST_COST_RATIO", 0.0 if nearest_first else float("inf"))
        page = service.search(SearchRequest(text=text, mode=mode, per_page=20))  # type: ignore[arg-type]
    service.allowed_cache.clear()
    return page


def assert_like_allowed_ids(service: SearchService, text: str, mode: str = "semantic") -> None:
    found = search(service, text, nearest_first=True, mode=mode)
    assert any(CHECKED in line for line in found.explain), (text, found.explain)
    expected = search(service, text, nearest_first=False, mode=mode)
    assert not any(CHECKED in line for line in expected.explain)
    assert found.hits, text
    assert_same(found, expected)


def test_a_broad_category_filters_nearest_papers_are_checked_in_the_snapshot_with_the_allowed_ids_results(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    service, semantic = open_service(engine, tmp_path)
    published = semantic.published_days()
    assert published is not None and published.categories is not None
    checks = DatabaseChecks(monkeypatch)
    for text in CATEGORY_FILTERS:
        for query in QUERIES:
            for mode in ("semantic", "hybrid"):
                assert_like_allowed_ids(service, f"{query} {text}", mode)
    # Nothing changed since the snapshot: the database was asked about no paper.
    assert checks.asked == []


def test_papers_changed_since_the_snapshot_are_asked_of_the_database_and_only_they(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    service, semantic = open_service(engine, tmp_path)
    published = semantic.published_days()
    query = QUERIES[0]
    before = search(service, f"{query} cat:cs.LG", nearest_first=False)
    newcomer = Paper(
        arxiv_id="2612.99999",
        title=query.capitalize(),
        abstract=f"{query.capitalize()}. {query.capitalize()}.",
        authors=("Ada Newcomer",),
        categories=("cs.LG",),
        primary_category="cs.LG",
        published=dt.date(2024, 1, 1),
    )
    ids = paper_ids(engine)
    arxiv_of = {paper_id: arxiv for arxiv, paper_id in ids.items()}
    # The best cs.LG paper leaves the category; a newcomer near the query joins it.
    best = next(p for p in PAPERS if p.arxiv_id == arxiv_of[before.hits[0].paper_id])
    store(engine, newcomer, revised(best, categories=("math.OC",)))
    changed = {paper_ids(engine)[newcomer.arxiv_id], ids[best.arxiv_id]}
    semantic.index_papers([paper_ids(engine)[newcomer.arxiv_id]])
    assert semantic.published_days() is published  # the snapshot is as before: the changes are the database's
    checks = DatabaseChecks(monkeypatch)
    found = search(service, f"{query} cat:cs.LG", nearest_first=True)
    assert any(CHECKED in line for line in found.explain)
    hits = {arxiv_of.get(hit.paper_id, "new") for hit in found.hits}
    assert "new" in hits and best.arxiv_id not in hits
    assert checks.asked and all(set(asked) <= changed for asked in checks.asked), checks.asked
    for text in CATEGORY_FILTERS:
        assert_like_allowed_ids(service, f"{query} {text}")


def test_more_papers_changed_since_the_snapshot_than_worth_asking_about_are_all_checked_in_the_database(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    service, _ = open_service(engine, tmp_path)
    store(engine, revised(PAPERS[0], categories=("cs.CV",)), revised(PAPERS[1], categories=("cs.LG",)))
    monkeypatch.setattr("papertide.search.changed_since.CHANGED_LIMIT", 1)
    checks = DatabaseChecks(monkeypatch)
    assert_like_allowed_ids(service, f"{QUERIES[1]} cat:cs.LG")
    assert checks.asked and max(len(asked) for asked in checks.asked) > 2


def test_a_snapshot_without_categories_leaves_the_check_to_the_database(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    service, semantic = open_service(engine, tmp_path)
    published = semantic.published_days()
    assert published is not None
    days_only = PublishedDays(published.ids, published.days, published.seq)
    monkeypatch.setattr(SemanticSearcher, "published_days", lambda self: days_only)
    checks = DatabaseChecks(monkeypatch)
    assert_like_allowed_ids(service, f"{QUERIES[2]} cat:cs")
    assert checks.asked


@pytest.mark.parametrize("dense", [False, True], ids=["ids with gaps", "ids without gaps"])
def test_the_snapshots_check_of_given_papers_is_its_selection_among_them(dense: bool) -> None:
    rng = np.random.default_rng(5)
    ids = np.sort(rng.choice(np.arange(1, 5000), size=800, replace=False)).astype(np.int64)
    if dense:
        ids = np.arange(3, 803, dtype=np.int64)
    days = rng.integers(day_number(dt.date(2015, 1, 1)), day_number(dt.date(2025, 1, 1)), size=len(ids))
    days = days.astype(np.int32)
    days[::17] = NO_DAY
    names = ["cs.LG", "cs.CV", "stat.ML", "math.ST", "q-bio.NC"]
    rows = [(int(pid), names[int(code)]) for pid in ids for code in rng.choice(5, size=rng.integers(0, 3))]
    published = PublishedDays(ids, days, 0, compose_paper_categories(ids, rows))
    # Given papers: some the snapshot holds, some it does not (stored after it), sorted.
    given = np.unique(np.concatenate([rng.choice(ids, size=300), rng.integers(0, 6000, size=100), [1, 2, 803]]))
    given = given.astype(np.int64)
    cases: list[tuple[dt.date | None, dt.date | None, set[str] | None]] = [
        (dt.date(2020, 1, 1), None, None),
        (None, dt.date(2018, 6, 30), None),
        (None, None, {"cs.LG"}),
        (None, None, {"stat.ML", "cs.CV", "q-bio.NC"}),
        (dt.date(2017, 1, 1), dt.date(2022, 12, 31), {"math.ST"}),
        (None, None, set()),
    ]
    for since, until, wanted in cases:
        expected = np.intersect1d(published.select(since, until, wanted), given)
        assert published.keep(given, since, until, wanted).tolist() == expected.tolist(), (since, until, wanted)
    assert published.keep(np.zeros(0, dtype=np.int64), None, None, {"cs.LG"}).tolist() == []
    with pytest.raises(ValueError, match="since, until or both"):
        published.keep(given, None, None)
    assert published.categories is not None
    positions = np.array([0, 5, 5, 799, 3], dtype=np.int64)
    assert (
        published.categories.passing_at(positions, {"cs.CV"}).tolist()
        == published.categories.passing({"cs.CV"})[positions].tolist()
    )


def test_the_snapshots_check_agrees_with_the_database_for_every_paper(engine: Engine, tmp_path: Path) -> None:
    _, semantic = open_service(engine, tmp_path)
    published = semantic.published_days()
    assert published is not None
    every = np.asarray(published.ids)
    for text in [*CATEGORY_FILTERS, "cat:cs.LG since:2021-06-01", "until:2024-06-30", "cat:nothing.here"]:
        checked = compose_checked_filter(parse_query(text))
        assert checked is not None
        keep = nearest_module.choose_keep(engine, checked, published)
        with engine.connect() as conn:
            assert keep(every).tolist() == fetch_filter_ids(conn, checked).tolist(), text
