"""Screening a paper: one pass over its fields finds what the per-field checks would (issue 9, 13)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from papertide.domain import limits
from papertide.domain.errors import InvalidInput
from papertide.domain.limits import screen_paper
from papertide.domain.models import Paper

# Plain letters, the characters XML cannot carry, a lone surrogate and a legal non-ASCII letter.
_TEXT = st.text(alphabet=st.sampled_from(["a", " ", "\n", "\x00", "\x0b", "\ufffe", "\ud800", "é"]), max_size=6)


def _long(limit: int) -> st.SearchStrategy[str]:
    return st.sampled_from(["a" * limit, "a" * (limit + 1)])


papers = st.builds(
    Paper,
    arxiv_id=_TEXT | _long(limits.MAX_ID_CHARS),
    # None where the model wants text: a source's bug must not get past the one-pass check.
    title=_TEXT | _long(limits.MAX_TITLE_CHARS) | st.none(),
    abstract=_TEXT,
    authors=st.lists(_TEXT | _long(limits.MAX_AUTHOR_CHARS) | st.none(), max_size=3).map(tuple),
    categories=st.lists(_TEXT, max_size=2).map(tuple),
    primary_category=st.none() | _TEXT,
    doi=st.none() | _TEXT,
    journal_ref=st.none() | _TEXT,
    comments=st.none() | _TEXT | _long(limits.MAX_COMMENTS_CHARS),
    abs_url=st.none() | _TEXT,
    pdf_url=st.none() | _TEXT,
    code_url=st.none() | _TEXT | _long(limits.MAX_URL_CHARS),
)


def _outcome(screen: object, paper: Paper) -> object:
    try:
        return screen(paper)  # type: ignore[operator]
    except InvalidInput as error:
        return (error.field, error.reason)


@given(papers)
def test_screening_agrees_with_the_per_field_checks(paper: Paper) -> None:
    assert _outcome(screen_paper, paper) == _outcome(limits._screen_fields, paper)


def test_a_clean_paper_is_passed_through_and_a_dirty_field_is_named_or_cleaned() -> None:
    clean = Paper(arxiv_id="2501.00001", title="Attention", abstract="An abstract.", authors=("Ada Lovelace",))
    assert screen_paper(clean) is clean
    assert screen_paper(Paper(arxiv_id="2501.00001", title="A\x00B", abstract="x")).title == "AB"
    with pytest.raises(InvalidInput, match="lone surrogate") as caught:
        screen_paper(Paper(arxiv_id="2501.00001", title="T", abstract="x", comments="c\ud800"))
    assert caught.value.field == "comments"


def test_a_missing_text_where_the_model_wants_one_is_stored_empty_as_before() -> None:
    odd = Paper(arxiv_id="2501.00001", title=None, abstract="x", authors=("Ada", None))  # type: ignore[arg-type]
    screened = screen_paper(odd)
    assert screened.title == "" and screened.authors == ("Ada", "")
