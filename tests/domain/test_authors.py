"""Author names: variants of one name share a key, different people under one key are reported."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from papertide.domain import authors
from papertide.domain.authors import author_key, group_name_forms, parse_author_name, same_person_possible
from papertide.domain.latex import render_tex


@pytest.mark.parametrize(
    "name",
    ["Ada Lovelace", "A. Lovelace", "Lovelace, Ada", "ADA LOVELACE", "Ad\\'a Lovelace", "Adá Lovelace", "A Lovelace"],
)
def test_variants_of_one_name_share_a_key(name: str) -> None:
    assert author_key(name) == "lovelace_a"


def test_tex_accents_and_letters_without_decomposition_fold() -> None:
    assert author_key("Bal\\'azs Szegedy") == author_key("Balazs Szegedy") == "szegedy_b"
    assert author_key("Søren Kierkegaard") == "kierkegaard_s"
    assert author_key("Paul Erd\\H{o}s") == author_key("Paul Erdős") == "erdos_p"


def test_particles_suffixes_and_initials_do_not_split_an_author() -> None:
    assert author_key("Johannes van der Waals") == author_key("J. D. van der Waals") == "waals_j"
    assert author_key("John Smith Jr.") == author_key("Smith, Jr., John") == "smith_j"


def test_a_hyphenated_surname_is_kept_whole() -> None:
    assert author_key("Mary Smith-Jones") == "smith-jones_m"
    assert author_key("Mary Jones") != author_key("Mary Smith-Jones")


def test_a_name_without_letters_has_no_key() -> None:
    assert author_key("") == author_key("  ., ") == ""


def test_an_initial_fits_any_first_name_but_two_first_names_do_not_fit_each_other() -> None:
    ada, initial, alan = (parse_author_name(n) for n in ("Ada Lovelace", "A. Lovelace", "Alan Lovelace"))
    assert same_person_possible(ada, initial) and same_person_possible(alan, initial)
    assert not same_person_possible(ada, alan)


def test_a_collision_is_reported_rather_than_merged_silently() -> None:
    forms = group_name_forms(["Ada Lovelace", "A. Lovelace", "Alan Lovelace", "Ada Lovelace"])
    assert forms.key == "lovelace_a"
    assert forms.is_ambiguous and forms.people == ("Ada Lovelace", "Alan Lovelace")
    assert forms.describe().startswith("2 different names share this page: Ada Lovelace, Alan Lovelace")


def test_variants_of_one_person_are_listed_without_alarm() -> None:
    forms = group_name_forms(["Ada Lovelace", "A. Lovelace", "Ada Lovelace"])
    assert not forms.is_ambiguous and forms.display_name == "Ada Lovelace"
    assert forms.describe() == "Also written as: A. Lovelace."


def _words_by_character(text: str) -> list[str]:
    """The definition the regex in domain/authors.py implements: isalnum runs, hyphens inside."""
    cleaned = "".join(ch if ch.isalnum() or ch == "-" else " " for ch in text)
    return [word.strip("-") for word in cleaned.split() if word.strip("-")]


def _fold_unicode(text: str) -> str:
    """fold_name's general path, which its ASCII shortcut must agree with."""
    decomposed = unicodedata.normalize("NFKD", render_tex(text).casefold())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return stripped.translate(authors._FOLD).replace("'", "").replace("’", "")


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=40))
def test_words_are_the_alphanumeric_runs_of_any_text(text: str) -> None:
    assert authors._words(text) == _words_by_character(text)


@given(st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=40) | st.sampled_from(["O'Brien, D.", 'M\\"uller']))
def test_the_ascii_shortcut_folds_as_the_general_path(text: str) -> None:
    assert authors.fold_name(text) == _fold_unicode(text)
