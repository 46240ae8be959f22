"""candidate_filter: ranges of ids with their exceptions let through exactly the candidates, as a term set does."""

from __future__ import annotations

import random

import tantivy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from papertide.search.lexical.analyzer import FIELD_PAPER_ID, build_schema, register_analyzers
from papertide.search.lexical.candidates import MAX_NAMED, MAX_RANGES, candidate_filter, cover_ids

TOP_ID = 3000


def _index() -> tantivy.Index:
    """An in-memory index of papers 1..TOP_ID (every other hundred missing, as deleted papers are)."""
    schema = build_schema()
    index = tantivy.Index(schema)
    register_analyzers(index)
    writer = index.writer(heap_size=15_000_000, num_threads=1)
    for paper_id in range(1, TOP_ID + 1):
        if paper_id // 100 % 2 == 1 and paper_id % 7 == 0:
            continue
        document = tantivy.Document()
        document.add_integer(FIELD_PAPER_ID, paper_id)
        writer.add_document(document)
    writer.commit()
    writer.wait_merging_threads()
    index.reload()
    return index


INDEX = _index()
INDEXED = {paper_id for paper_id in range(1, TOP_ID + 1) if not (paper_id // 100 % 2 == 1 and paper_id % 7 == 0)}


def _matched(query: tantivy.Query) -> set[int]:
    searcher = INDEX.searcher()
    hits = searcher.search(query, TOP_ID + 10, count=False).hits
    return {int(value) for value in searcher.fast_field_values(FIELD_PAPER_ID, [address for _, address in hits])}


# Candidate sets as a digest sees them: a few dense windows of recent ids with holes, plus strays.
windows = st.lists(
    st.tuples(st.integers(-50, TOP_ID + 50), st.integers(0, 800), st.floats(0.5, 1.0)), min_size=0, max_size=6
)
strays = st.lists(st.integers(-10, TOP_ID + 100), max_size=40)


@st.composite
def candidate_sets(draw: st.DrawFn) -> set[int]:
    chosen: set[int] = set(draw(strays))
    for start, length, density in draw(windows):
        # Which ids of a window are kept comes from a seeded Random, not st.randoms(): that one drew
        # every keep.random() from Hypothesis (up to 800 a window), 86 s of the suite for 150 examples
        # (tests/README.md, "Speed"). Same windows, densities and holes; shrinking moves the seed.
        keep = random.Random(draw(st.integers(0, 2**32 - 1)))
        chosen.update(i for i in range(start, start + length) if keep.random() < density)
    return chosen


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(candidate_sets())
def test_the_filter_matches_exactly_the_candidates_in_the_index(candidates: set[int]) -> None:
    if not candidates:
        return
    query = candidate_filter(build_schema(), candidates)
    assert _matched(query) == candidates & INDEXED


@settings(max_examples=150, deadline=None)
@given(candidate_sets())
def test_a_cover_is_its_ranges_and_named_ids_less_its_holes_and_stays_small(candidates: set[int]) -> None:
    cover = cover_ids(candidates)
    if cover is None:
        return
    covered = {i for low, high in cover.ranges for i in range(low, high + 1)} | set(cover.extra)
    assert covered - set(cover.holes) == candidates
    assert set(cover.holes) <= {i for low, high in cover.ranges for i in range(low, high + 1)}
    assert len(cover.ranges) <= MAX_RANGES
    assert len(cover.extra) + len(cover.holes) <= MAX_NAMED


def test_a_window_of_recent_ids_with_a_few_gaps_and_strays_is_covered_by_ranges() -> None:
    recent = set(range(1000, 2500)) - {1200, 1201, 1700} | {5, 17}
    cover = cover_ids(recent)
    assert cover is not None
    assert cover.ranges == ((1000, 2499),)
    assert cover.extra == (5, 17)
    assert cover.holes == (1200, 1201, 1700)
    assert _matched(candidate_filter(build_schema(), recent)) == recent & INDEXED


def test_scattered_ids_fall_back_to_a_term_set_that_matches_them_all() -> None:
    scattered = set(range(1, TOP_ID, 7))
    assert cover_ids(scattered) is None
    assert _matched(candidate_filter(build_schema(), scattered)) == scattered & INDEXED


def test_the_filter_scores_nothing_so_a_restricted_ranking_keeps_its_scores() -> None:
    query = candidate_filter(build_schema(), set(range(10, 50)))
    hits = INDEX.searcher().search(query, 100, count=False).hits
    assert hits and all(score == 0.0 for score, _ in hits)
