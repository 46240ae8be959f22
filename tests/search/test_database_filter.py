"""Category and date filters are read from the database's indexes, and agree with the lexical index (issue 13).

A real database (both dialects) and lexical index of 300 papers with one to three categories in
mixed case, some without a category or a date. Each filter the database answers must give the
ids the index gives once it has caught up; before that, the database's newer answer is kept and
patched exactly when the index moves on (search/database_filter.py, search/allowed.py).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import Engine

from papertide.domain.models import Paper
from papertide.domain.query import parse_query
from papertide.search.allowed import Ids
from papertide.search.database_filter import compose_database_filter, select_stored_categories
from papertide.search.lexical.index import LexicalIndex
from papertide.search.lexical.plan import FieldWeights, compose_lexical_plan
from papertide.search.query import SearchService
from papertide.search.request import SearchRequest
from tests.search.search_corpus import FakeSemantic, revised, store, texts_of

NAMES = ["cs.LG", "cs.AI", "math.OC", "hep-th", "q-bio.NC", "stat.ML"]
START = dt.date(2023, 6, 1)


def paper(number: int, categories: tuple[str, ...], published: dt.date | None = None) -> Paper:
    return Paper(
        arxiv_id=f"2602.{number:05d}",
        title=f"Paper {number} on sampling",
        abstract=f"Abstract {number}.",
        authors=("Emmy Noether",),
        categories=categories,
        primary_category=categories[0] if categories else None,
        published=published if published is not None else START + dt.timedelta(days=3 * number),
    )


def corpus() -> list[Paper]:
    made = []
    for number in range(300):
        picked = tuple(dict.fromkeys(NAMES[(number * k) % len(NAMES)] for k in (1, 5, 7)[: 1 + number % 3]))
        if number % 17 == 0:
            picked = ()
        made.append(paper(number, picked))
    made[3] = dataclasses.replace(made[3], published=None)
    return made


PAPERS = corpus()
FILTERS = [
    "cat:cs.LG",
    "cat:cs",
    "cat:CS.lg",
    "cat:cs.LG,hep-th",
    "cat:nosuch.XY",
    "since:2024-01-01",
    "until:2023-12-31",
    "since:2023-09-01 until:2024-02-29",
    "cat:cs.LG since:2024-01-01",
    "cat:math until:2023-12-31",
]


@pytest.fixture
def service(engine: Engine, tmp_path: Path) -> SearchService:
    store(engine, *PAPERS)
    lexical = LexicalIndex(engine, tmp_path / "lexical")
    lexical.open()
    return SearchService(engine, lexical)


def read_both(service: SearchService, text: str) -> tuple[list[int], list[int]]:
    """The filter's ids as the service answers through the database, and as the lexical index reads them now."""
    query = parse_query(text)
    plan = compose_lexical_plan(service.lexical.schema, query, FieldWeights())
    # As SQLite would: PostgreSQL leaves dates alone to the index, but its answer must agree too.
    listed = compose_database_filter(query, "sqlite")
    assert plan.required is not None and listed is not None
    fresh = service.lexical.matching_ids(plan.required, service.lexical.count(plan.required))
    return service.allowed_ids(plan, listed).tolist(), fresh.tolist()


@pytest.mark.parametrize("text", FILTERS)
def test_the_database_passes_the_papers_the_caught_up_index_passes(service: SearchService, text: str) -> None:
    read, truth = read_both(service, text)
    assert read == truth
    assert text == "cat:nosuch.XY" or read


@pytest.mark.parametrize("text", ["cat:cs.LG", "cat:cs", "since:2024-01-01", "cat:cs.LG since:2024-01-01"])
def test_a_filter_read_before_the_index_catches_up_holds_the_database_papers(service: SearchService, text: str) -> None:
    store(service.engine, paper(900, ("cs.LG",), dt.date(2025, 1, 1)))  # stored, not indexed yet
    read, truth = read_both(service, text)
    new_id = service.engine.connect().exec_driver_sql("SELECT MAX(id) FROM papers").scalar_one()
    assert new_id in read and new_id not in truth
    assert sorted(set(read) - {new_id}) == truth


def test_a_filter_read_while_the_index_lags_is_patched_exactly_once_it_catches_up(service: SearchService) -> None:
    # An archive and a date over about 180 papers: worth patching for up to 11 changes (search/allowed.py).
    text = "cat:cs since:2023-07-01"
    service.lexical.refresh()
    leaves = next(p for p in PAPERS[10:] if "cs.LG" in p.categories)
    joins = next(p for p in PAPERS[40:] if p.categories and not any(c.startswith("cs.") for c in p.categories))
    # Changed in the database before the array is made, not yet in the index: the array follows the database.
    store(
        service.engine,
        revised(leaves, categories=("math.OC",), primary_category="math.OC"),
        revised(joins, categories=("cs.LG",), primary_category="cs.LG"),
    )
    lagging, _ = read_both(service, text)
    # Changed after the array was made: only a patch can bring these in or take them out.
    later_in = next(p for p in PAPERS[60:] if p.categories and not any(c.startswith("cs.") for c in p.categories))
    later_out = next(p for p in PAPERS[60:] if "cs.LG" in p.categories)
    store(
        service.engine,
        paper(901, ("cs.LG",), dt.date(2025, 2, 1)),
        revised(later_in, categories=("cs.LG",), primary_category="cs.LG"),
        revised(later_out, categories=("hep-th",), primary_category="hep-th"),
    )
    service.lexical.refresh()
    patched, truth = read_both(service, text)
    assert patched == truth and patched != lagging
    assert (service.allowed_cache.misses, service.allowed_cache.patches) == (1, 1)


class CountingIndex(LexicalIndex):
    """The real lexical index, counting how often a filter's every id is read from it."""

    reads = 0

    def matching_ids(self, *args: object, **kwargs: object) -> Ids:
        self.reads += 1
        return super().matching_ids(*args, **kwargs)  # type: ignore[arg-type]


def test_a_filtered_search_reads_a_category_or_date_filter_from_the_database_only(
    engine: Engine, tmp_path: Path
) -> None:
    store(engine, *PAPERS)
    lexical = CountingIndex(engine, tmp_path / "lexical")
    lexical.open()
    fake = FakeSemantic(texts_of(engine))
    service = SearchService(engine, lexical, load_semantic=lambda: fake)
    for text in ["sampling cat:cs.LG", "sampling cat:cs since:2024-01-01"]:
        service.search(SearchRequest(text=text))
        candidates = fake.calls[-1][2]
        assert candidates is not None and len(candidates) > 20
    assert lexical.reads == 0
    service.search(SearchRequest(text="sampling author:Noether cat:cs.LG"))
    assert lexical.reads == 1
    # Dates alone: SQLite reads its index on papers.published; PostgreSQL's holds no ids (database_filter.py).
    service.search(SearchRequest(text="sampling until:2023-12-31"))
    assert lexical.reads == (1 if engine.dialect.name == "sqlite" else 2)
    # Within given papers (the digest's candidates), only the index can require them too.
    within = frozenset(sorted(texts_of(engine))[:40])
    service.search(SearchRequest(text="sampling cat:cs.LG", within=within))
    candidates = fake.calls[-1][2]
    assert candidates is not None and len(candidates) > 0 and set(candidates) <= within


def test_dates_alone_are_left_to_the_lexical_index_on_postgresql() -> None:
    query = parse_query("since:2024-01-01")
    assert compose_database_filter(query, "postgresql") is None
    assert compose_database_filter(query, "sqlite") is not None
    assert compose_database_filter(parse_query("cat:cs since:2024-01-01"), "postgresql") is not None


def test_filters_with_a_phrase_or_an_author_are_left_to_the_lexical_index() -> None:
    for text in ['"on sampling" cat:cs.LG', "author:Noether since:2024-01-01", "words only"]:
        assert compose_database_filter(parse_query(text), "sqlite") is None
    listed = compose_database_filter(parse_query("graphs cat:CS.lg,hep-th until:2024"), "postgresql")
    assert listed is not None and listed.categories == ("cs.lg", "hep-th")
    assert listed.until == dt.date(2024, 12, 31) and listed.since is None


def test_stored_category_names_are_matched_as_the_index_files_them() -> None:
    stored = ["cs.AI", "cs.LG", "CS.CV", " cs.RO", "csx.A", "hep-th", "math.OC"]
    assert select_stored_categories(stored, ["cs"]) == ["cs.AI", "cs.LG", "CS.CV", " cs.RO"]
    assert select_stored_categories(stored, ["cs.lg", "hep-th"]) == ["cs.LG", "hep-th"]
    assert select_stored_categories(stored, ["cs.ro"]) == [" cs.RO"]
    assert select_stored_categories(stored, ["math.ds"]) == []
