"""A kept filter is patched with the papers changed since, not read again, and stays exact (search/allowed.py).

A real SQLite database and lexical index of 640 papers, half of them in cs.LG; papers are then
added, moved into and out of the category, or revised without leaving it. After each change the
kept array must equal the filter read afresh from the index, however it was brought up to date.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from papertide.domain.models import Paper
from papertide.domain.query import parse_query
from papertide.search.allowed import apply_changes
from papertide.search.lexical.index import LexicalIndex
from papertide.search.lexical.plan import FieldWeights, compose_lexical_plan
from papertide.search.query import SearchService
from tests.search.search_corpus import revised, store


def paper(number: int, category: str) -> Paper:
    return Paper(
        arxiv_id=f"2601.{number:05d}",
        title=f"Paper {number} on learning",
        abstract=f"Number {number}.",
        authors=("Ada Lovelace",),
        categories=(category,),
        primary_category=category,
        published=dt.date(2024, 1, 1) + dt.timedelta(days=number % 300),
    )


PAPERS = [paper(number, "cs.LG" if number % 2 else "math.OC") for number in range(640)]


@pytest.fixture
def service(tmp_path: Path) -> SearchService:
    from papertide.store.engine import make_engine
    from papertide.store.migrate import upgrade_database

    engine = make_engine(f"sqlite:///{tmp_path / 'papers.sqlite'}")
    upgrade_database(engine)
    store(engine, *PAPERS)
    lexical = LexicalIndex(engine, tmp_path / "lexical")
    lexical.open()
    return SearchService(engine, lexical)


def allowed_and_truth(service: SearchService, text: str) -> tuple[list[int], list[int]]:
    """The filter's ids as the service answers (kept, patched or read) and read afresh from the index."""
    service.lexical.refresh()
    plan = compose_lexical_plan(service.lexical.schema, parse_query(text), FieldWeights())
    assert plan.required is not None
    fresh = service.lexical.matching_ids(plan.required, service.lexical.count(plan.required))
    return service.allowed_ids(plan).tolist(), fresh.tolist()


def test_papers_moving_into_and_out_of_a_kept_filter_patch_it_exactly(service: SearchService) -> None:
    kept, truth = allowed_and_truth(service, "cat:cs.LG")
    assert kept == truth and len(kept) == 320
    store(
        service.engine,
        paper(700, "cs.LG"),  # new, passes
        paper(701, "math.OC"),  # new, does not
        revised(PAPERS[1], categories=("math.OC",), primary_category="math.OC"),  # leaves the category
        revised(PAPERS[2], categories=("cs.LG",), primary_category="cs.LG"),  # joins it
        revised(PAPERS[3], title="Paper 3 revised"),  # stays in
    )
    patched, truth = allowed_and_truth(service, "cat:cs.LG")
    assert patched == truth and len(patched) == 321
    assert (service.allowed_cache.misses, service.allowed_cache.patches) == (1, 1)
    # A second round of changes patches the patched array.
    store(service.engine, revised(PAPERS[5], categories=("math.OC",), primary_category="math.OC"))
    patched, truth = allowed_and_truth(service, "cat:cs.LG since:2024-01-01")
    assert patched == truth
    again, truth = allowed_and_truth(service, "cat:cs.LG")
    assert again == truth and len(again) == 320
    assert service.allowed_cache.patches == 2


def test_more_changes_than_patching_saves_read_the_filter_again(service: SearchService) -> None:
    allowed_and_truth(service, "cat:cs.LG")
    # 320 kept ids are worth patching for 20 changes at most (search/allowed.py: PATCH_COST_IN_IDS).
    store(service.engine, *(paper(1000 + number, "cs.LG") for number in range(21)))
    read, truth = allowed_and_truth(service, "cat:cs.LG")
    assert read == truth and len(read) == 341
    assert (service.allowed_cache.misses, service.allowed_cache.patches) == (2, 0)


def test_a_kept_filter_of_an_index_built_from_another_database_is_read_again(service: SearchService) -> None:
    allowed_and_truth(service, "cat:cs.LG")
    store(service.engine, paper(700, "cs.LG"))
    service.lexical._database_id = "another"  # what a rebuild from another database's backup looks like
    read, truth = allowed_and_truth(service, "cat:cs.LG")
    assert read == truth
    assert (service.allowed_cache.misses, service.allowed_cache.patches) == (2, 0)


def test_applying_changes_removes_changed_ids_and_inserts_those_passing_in_order() -> None:
    ids = np.array([2, 4, 6, 8], dtype=np.int64)
    patched = apply_changes(ids, np.array([4, 5, 9, 1, 8]), np.array([9, 1, 8]))
    assert patched.tolist() == [1, 2, 6, 8, 9]
    assert apply_changes(np.zeros(0, dtype=np.int64), np.array([3]), np.array([3])).tolist() == [3]
    empty = np.zeros(0, dtype=np.int64)
    assert apply_changes(ids, empty, empty) is ids  # the same array: bitmaps kept for it stay good
