"""The query syntax: free text, phrases, author/cat/since/until filters, and helpful errors."""

from __future__ import annotations

import datetime as dt

import pytest

from papertide.domain.errors import InvalidQuery
from papertide.domain.query import MAX_QUERY_CHARS, parse_query


def test_free_words_are_kept_in_order_as_text() -> None:
    query = parse_query("  learning   chaotic dynamics ")
    assert query.words == ("learning", "chaotic", "dynamics")
    assert query.text == "learning chaotic dynamics"
    assert query.has_text and not query.has_filters


def test_quoted_phrases_are_required_and_read_by_the_model_without_quotes() -> None:
    query = parse_query('neural "ordinary   differential equations" solver')
    assert query.words == ("neural", "solver")
    assert query.phrases == ("ordinary differential equations",)
    assert query.text == "neural ordinary differential equations solver"
    assert query.has_filters


def test_all_filters_combine_with_free_text() -> None:
    query = parse_query('author:"Ada Lovelace" cat:cs.LG since:2025-01-01 until:2025-06-30 analytical engine')
    assert query.words == ("analytical", "engine")
    assert query.authors == ("Ada Lovelace",)
    assert query.categories == ("cs.LG",)
    assert query.since == dt.date(2025, 1, 1)
    assert query.until == dt.date(2025, 6, 30)
    assert query.text == "analytical engine"


def test_filter_names_ignore_case_and_bare_author_values_work() -> None:
    query = parse_query("Author:Lovelace CAT:math.DS Category:stat.ML")
    assert query.authors == ("Lovelace",)
    assert query.categories == ("math.DS", "stat.ML")


def test_several_categories_may_be_listed_with_commas() -> None:
    assert parse_query("cat:cs.LG,stat.ML, cat:cs").categories == ("cs.LG", "stat.ML", "cs")


def test_month_and_year_dates_cover_the_whole_period() -> None:
    query = parse_query("since:2024-02 until:2024-02")
    assert (query.since, query.until) == (dt.date(2024, 2, 1), dt.date(2024, 2, 29))
    query = parse_query("since:2023 until:2023")
    assert (query.since, query.until) == (dt.date(2023, 1, 1), dt.date(2023, 12, 31))


def test_a_query_of_filters_only_has_no_text() -> None:
    query = parse_query("cat:cs.CL since:2025")
    assert not query.has_text and query.has_filters and not query.is_empty


def test_words_that_only_look_like_filters_stay_free_text() -> None:
    query = parse_query("arXiv:2401.00001 ODE: solvers")
    assert query.words == ("arXiv:2401.00001", "ODE:", "solvers")
    assert not query.has_filters


def test_describe_prints_a_canonical_form() -> None:
    query = parse_query('until:2025 "graph networks" cat:cs.LG,cs.AI author:Turing message passing')
    assert query.describe() == ('message passing "graph networks" author:"Turing" cat:cs.LG,cs.AI until:2025-12-31')


def test_highlight_terms_include_the_words_of_phrases() -> None:
    assert parse_query('fast "fourier transform"').highlight_terms == ("fast", "fourier", "transform")


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ('neural "ordinary differential', 'unclosed quote: the " at character 8'),
        ('author:"Ada Lovelace', 'unclosed quote: the " at character 8'),
        ("author:", "author: needs a value"),
        ('author:""', "author: needs a value"),
        ("cat:", "cat: needs a value"),
        ("cat:cs..LG", "'cs..LG' is not an arXiv category"),
        ("since:yesterday", "since: expects a date like 2025-01-01"),
        ("since:2025-13-01", "since: expects a date like 2025-01-01"),
        ("until:2025-02-30", "2025-02 has no day 30"),
        ("since:2025 since:2024", "since: is given twice"),
        ("since:2025-06-01 until:2025-01-01", "since:2025-06-01 is after until:2025-01-01"),
        ("autor:Lovelace", 'unknown filter "autor:"; did you mean author:'),
        ("catt:cs.LG", "did you mean cat:"),
    ],
)
def test_invalid_syntax_names_the_problem(raw: str, fragment: str) -> None:
    with pytest.raises(InvalidQuery) as caught:
        parse_query(raw)
    assert fragment in str(caught.value)


def test_overlong_queries_are_refused() -> None:
    with pytest.raises(InvalidQuery, match="characters long"):
        parse_query("a" * (MAX_QUERY_CHARS + 1))
    with pytest.raises(InvalidQuery, match="at most 64"):
        parse_query(" ".join(["word"] * 65))


def test_an_empty_query_parses_to_nothing() -> None:
    assert parse_query('   ""  ').is_empty
