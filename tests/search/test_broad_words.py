"""A broad filter's word side read from the unfiltered ranking (lexical/broad.py, issue 13).

Every page is compared with the same search by a service that keeps no filter ids (the filtered
tantivy query with its count): the same papers, scores, order (equal scores included, the tied
papers stored in several commits), totals and next-page flags, page after page. The explain line
says which way the words were read, so each test also checks that the way it is about ran.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine

from papertide.domain.models import Paper
from papertide.domain.query import parse_query
from papertide.search.database_filter import compose_database_filter
from papertide.search.lexical.analyzer import build_schema
from papertide.search.lexical.broad import Membership, passes, unfiltered_read
from papertide.search.lexical.index import LexicalIndex
from papertide.search.lexical.plan import FieldWeights, compose_lexical_plan, restrict_plan
from papertide.search.query import SearchService
from papertide.search.request import SearchOptions, SearchRequest
from tests.search.search_corpus import paper_ids, store

VOCABULARY = ["neural", "network", "protein", "quantum", "circuit", "survey", "market", "policy", "entropy", "vision"]
# Small enough that a few hundred papers pass it: the count's lower bound is exercised.
OPTIONS = SearchOptions(max_results=50, fusion_depth=20, sort_pool=20)
UNFILTERED = "of the unfiltered top"
Page = tuple[list[tuple[int, float]], int, bool, bool]


def corpus() -> list[Paper]:
    """600 papers with "graph", 71 % cs.LG and 5 % q-bio.NC: 60 of one text (tied scores), 60 "lattice" ones of
    which six cs.LG, five "spectral" ones (cs.LG)."""
    rng = np.random.default_rng(5)
    made = []
    for number in range(600):
        if number % 10 == 3:
            title, abstract = "Graph methods", "A graph of graph nodes."
        else:
            words = list(rng.choice(VOCABULARY, size=int(rng.integers(4, 14))))
            if number % 10 == 7:
                words.append("lattice")
            if number % 120 == 11:
                words.append("spectral")
            title, abstract = f"Graph {words[0]} {words[1]}", " ".join(words[2:]) + " graph."
        lattice = "lattice" in abstract
        broad = (number % 10 < 7) if not lattice else number % 100 == 7
        category = "cs.LG" if broad else "q-bio.NC" if number % 20 == 9 else "math.OC"
        made.append(
            Paper(
                arxiv_id=f"2601.{number:05d}",
                title=title,
                abstract=abstract,
                authors=("Ada Lovelace",),
                categories=(category,),
                primary_category=category,
                published=dt.date(2025, 1, 1) + dt.timedelta(days=number),
            )
        )
    return made


@pytest.fixture
def lexical(sqlite_engine: Engine, tmp_path: Path) -> LexicalIndex:
    """The corpus stored and indexed in three commits (three segments: ties across them)."""
    papers = corpus()
    index = LexicalIndex(sqlite_engine, tmp_path / "lexical")
    index.open()
    for start in range(0, len(papers), 200):
        store(sqlite_engine, *papers[start : start + 200])
        index.sync()
    return index


def keep_ids(service: SearchService, text: str) -> None:
    """What a hybrid search's meaning side does: read and keep the filter's ids (search/allowed.py)."""
    plan = compose_lexical_plan(service.lexical.schema, parse_query(text), OPTIONS.field_weights)
    service.allowed_ids(plan, compose_database_filter(parse_query(text), service.engine.dialect.name))


def read(service: SearchService, text: str, page: int = 1) -> tuple[Page, str]:
    found = service.search(SearchRequest(text=text, mode="lexical", page=page, per_page=10))
    hits = [(hit.paper_id, hit.score) for hit in found.hits]
    words = next(line for line in found.explain if line.startswith("lexical:"))
    return (hits, found.total, found.total_exact, found.has_more), words


def services(engine: Engine, lexical: LexicalIndex, text: str) -> tuple[SearchService, SearchService]:
    """A service that keeps the filter's ids, and one that does not (the filtered query, as before)."""
    kept = SearchService(engine, lexical, options=OPTIONS)
    keep_ids(kept, text)
    return kept, SearchService(engine, lexical, options=OPTIONS)


def test_a_broad_filter_s_pages_read_unfiltered_are_the_filtered_query_s_pages(
    sqlite_engine: Engine, lexical: LexicalIndex
) -> None:
    text = "graph methods cat:cs.LG"
    kept, plain = services(sqlite_engine, lexical, text)
    for page in (1, 2, 3, 5):
        got, how = read(kept, text, page)
        expected, before = read(plain, text, page)
        assert got == expected
        assert UNFILTERED in how and UNFILTERED not in before
    hits, total, exact, more = read(kept, text)[0]
    # 420 match: more than can be paged, said as the filtered count said it.
    assert (total, exact, more) == (50, False, True)
    assert len({score for _, score in hits}) == 1, "the page should be one group of tied scores"


def test_a_match_count_below_max_results_stays_exact_when_every_match_was_read(
    sqlite_engine: Engine, lexical: LexicalIndex
) -> None:
    text = "spectral cat:cs.LG"
    kept, plain = services(sqlite_engine, lexical, text)
    got, how = read(kept, text)
    assert got == read(plain, text)[0]
    assert UNFILTERED in how
    assert got[1:3] == (5, True) and len(got[0]) == 5


def test_words_leaning_away_from_the_filter_run_the_filtered_query(
    sqlite_engine: Engine, lexical: LexicalIndex
) -> None:
    text = "lattice cat:cs.LG"
    kept, plain = services(sqlite_engine, lexical, text)
    got, how = read(kept, text)
    assert got == read(plain, text)[0]
    assert UNFILTERED not in how
    assert got[1:3] == (6, True)


def test_a_narrow_filter_runs_the_filtered_query(sqlite_engine: Engine, lexical: LexicalIndex) -> None:
    text = "graph cat:q-bio.NC"
    kept, plain = services(sqlite_engine, lexical, text)
    got, how = read(kept, text)
    assert got == read(plain, text)[0]
    assert UNFILTERED not in how and got[0]


def test_kept_ids_of_an_older_commit_are_not_used_to_check_the_words(
    sqlite_engine: Engine, lexical: LexicalIndex
) -> None:
    text = "graph methods cat:cs.LG"
    kept, plain = services(sqlite_engine, lexical, text)
    newest = Paper(
        arxiv_id="2602.00001",
        title="Graph zeolite",
        abstract="A graph of zeolite pores.",
        categories=("cs.LG",),
        primary_category="cs.LG",
        published=dt.date(2026, 1, 1),
    )
    store(sqlite_engine, newest)
    # The search loads the commit holding the new paper; the kept ids are of the one before.
    got, how = read(kept, "graph zeolite cat:cs.LG")
    assert UNFILTERED not in how
    assert got == read(plain, "graph zeolite cat:cs.LG")[0]
    assert got[0][0][0] == max(ids for ids in paper_ids(sqlite_engine).values())


def test_the_hybrid_word_side_reads_a_kept_broad_filter_unfiltered(
    sqlite_engine: Engine, lexical: LexicalIndex
) -> None:
    text = "graph methods cat:cs.LG"
    kept, _ = services(sqlite_engine, lexical, text)
    run = kept._run_words(compose_lexical_plan(lexical.schema, parse_query(text), FieldWeights()), 20)
    assert UNFILTERED in run.explain[0]
    assert run.sources == [("lexical", run.ranked)] and len(run.ranked) == 20


def test_only_a_plan_of_words_and_filters_has_its_words_apart() -> None:
    schema = build_schema()

    def words_of(text: str) -> object:
        return compose_lexical_plan(schema, parse_query(text), FieldWeights()).words

    assert words_of("graph cat:cs.LG since:2025-01-01") is not None
    assert words_of("graph") is None
    assert words_of('graph "graph methods" cat:cs.LG') is None
    assert words_of("cat:cs.LG") is None
    within = restrict_plan(schema, compose_lexical_plan(schema, parse_query("graph cat:cs.LG"), FieldWeights()), [1])
    assert within.words is None


def test_the_unfiltered_read_is_sized_by_the_share_and_refused_for_a_narrow_filter() -> None:
    assert unfiltered_read(200, 587, 1000) == 426
    assert unfiltered_read(200, 900, 1000) == 278
    assert unfiltered_read(200, 178, 1000) is None
    assert unfiltered_read(200, 0, 1000) is None


def test_the_kept_ids_bit_set_answers_as_a_search_of_the_sorted_ids_does() -> None:
    rng = np.random.default_rng(8)
    allowed = np.unique(rng.integers(1, 5000, size=2000)).astype(np.int64)
    allowed.flags.writeable = False
    ids = np.concatenate([rng.integers(0, 6000, size=500), allowed[:5], [allowed[-1], allowed[-1] + 1, 10**9]])
    membership = Membership(entries=1)
    assert np.array_equal(membership.passes(allowed, ids), passes(allowed, ids))
    assert membership.passes(allowed, ids).sum() >= 6
    # Kept by identity: the same array is not marked again, another one (even equal) is.
    bits = membership._bits(allowed)
    assert membership._bits(allowed) is bits
    other = allowed.copy()
    other.flags.writeable = False
    assert membership._bits(other) is not bits


def test_a_writable_id_array_is_searched_and_never_kept() -> None:
    allowed = np.array([2, 3, 5, 7], dtype=np.int64)
    membership = Membership()
    assert membership.passes(allowed, np.array([1, 2, 7, 8], dtype=np.int64)).tolist() == [False, True, True, False]
    assert not membership._kept
