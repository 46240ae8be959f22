"""Which authors an author: filter matched, and the cut author list that keeps them visible."""

from __future__ import annotations

from papertide.domain.author_match import match_authors
from papertide.web.templating import format_authors

MANY = ("A One", "B Two", "C Three", "D Four", "E Five", "F Six", "G Seven", "Ada Lovelace", "H Eight", "I Nine")


def test_an_author_filter_matches_whole_words_of_one_name_ignoring_case_and_accents() -> None:
    authors = ("Henri Poincaré", "Ada Lovelace", "Adam Smith")
    assert match_authors(authors, ["poincare"]) == (0,)
    assert match_authors(authors, ["Ada Lovelace"]) == (1,)
    assert match_authors(authors, ["Ada"]) == (1,)
    assert match_authors(authors, ["Lovelace Ada"]) == ()
    assert match_authors(authors, ["Smith", "Henri"]) == (0, 2)
    assert match_authors(authors, []) == ()


def test_a_cut_author_list_still_shows_the_matched_author() -> None:
    assert format_authors(MANY) == "A One, B Two, C Three, D Four, E Five, F Six and 4 more"
    assert format_authors(MANY, filters=["Lovelace"]) == (
        "A One, B Two, C Three, D Four, E Five, F Six, … Ada Lovelace, and 3 more"
    )
    assert format_authors(MANY[:8], filters=["Lovelace"]).endswith("F Six, … Ada Lovelace, and 1 more")
    assert format_authors(MANY[:8], filters=["Ada Lovelace", "G Seven"]).endswith("F Six, … G Seven, Ada Lovelace")
    assert format_authors(MANY, filters=["One"]) == "A One, B Two, C Three, D Four, E Five, F Six and 4 more"
    assert format_authors(MANY[:3], filters=["Lovelace"]) == "A One, B Two, C Three"
    assert format_authors(MANY, 3) == "A One, B Two, C Three and 7 more"
