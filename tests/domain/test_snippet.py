"""Snippets and highlighting of matched query words (domain/snippet.py)."""

from __future__ import annotations

import re
import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from papertide.domain import snippet
from papertide.domain.snippet import highlight, make_snippet
from papertide.domain.text import tokenize


def reference_fold(word: str) -> str:
    """The folding rule written out in full: lower case, NFKD, combining marks dropped."""
    folded = unicodedata.normalize("NFKD", word.lower())
    return "".join(ch for ch in folded if not unicodedata.combining(ch))


def reference_matches(word: str, terms: set[str]) -> bool:
    """The matching rule written out term by term, as it was first written."""
    folded = reference_fold(word)
    return any(folded == t or (len(t) >= 4 and folded.startswith(t[: max(4, len(t) - 2)])) for t in terms)


def reference_highlight(text: str, query_terms: list[str]) -> list[tuple[str, bool]]:
    """Highlighting written out word by word."""
    terms = {term for term in (reference_fold(t) for t in query_terms) if term}
    segments: list[tuple[str, bool]] = []
    position = 0
    for match in re.finditer(r"\w+", text):
        if reference_matches(match.group(0), terms):
            if match.start() > position:
                segments.append((text[position : match.start()], False))
            segments.append((match.group(0), True))
            position = match.end()
    if position < len(text):
        segments.append((text[position:], False))
    return segments


def reference_snippet(text: str, query: str, width: int) -> list[tuple[str, bool]]:
    """The snippet window written out word by word."""
    terms = tokenize(query)
    if len(text) <= width:
        return reference_highlight(text, terms)
    starts = [m.start() for m in re.finditer(r"\w+", text) if reference_matches(m.group(0), set(terms))]
    begin = 0
    if starts:
        best = max(starts, key=lambda s: sum(1 for other in starts if s <= other < s + width))
        begin = max(0, best - width // 4)
        space = text.rfind(" ", 0, begin)
        begin = space + 1 if space >= 0 and begin > 0 else begin
    end = min(len(text), begin + width)
    space = text.find(" ", end)
    end = space if space != -1 and space - end < 30 else end
    segments = reference_highlight(text[begin:end], terms)
    if begin > 0:
        segments.insert(0, ("… ", False))
    if end < len(text):
        segments.append((" …", False))
    return segments


WORDS = ["dynamic", "DYNAMICS", "Dynamical", "café", "cafe", "model", "Model_2", "models", "Schrödinger", "of", "x1"]
TEXTS = st.lists(st.sampled_from([*WORDS, " ", ", ", "-", "é"]), max_size=60).map("".join)
TERMS = st.lists(st.sampled_from([*WORDS, "dyna", "mode", "", "c++", "Model", "x"]), max_size=4)


def test_highlight_marks_query_words_their_accented_forms_and_stem_variants() -> None:
    segments = highlight("Schrödinger dynamics of diffusion models.", ["schrodinger", "dynamic"])
    assert [text for text, matched in segments if matched] == ["Schrödinger", "dynamics"]
    assert "".join(text for text, _ in segments) == "Schrödinger dynamics of diffusion models."


def test_without_query_words_the_text_is_one_unmarked_segment() -> None:
    assert highlight("Anything at all, café.", []) == [("Anything at all, café.", False)]
    assert highlight("", []) == []
    long_text = "word " * 200
    [(window, marked), ending] = make_snippet(long_text, "")
    assert window.startswith("word word") and not marked and 320 <= len(window) < 330
    assert ending == (" …", False)


def test_the_snippet_is_a_window_around_the_matched_words() -> None:
    text = "filler " * 100 + "the diffusion model " + "filler " * 100
    segments = make_snippet(text, "diffusion")
    assert segments[0] == ("… ", False) and segments[-1] == (" …", False)
    assert ("diffusion", True) in segments


@given(TEXTS, TERMS)
def test_highlighting_agrees_with_the_rule_written_out_word_by_word(text: str, terms: list[str]) -> None:
    # Terms are prepared once per text, and ASCII text is scanned by one regular expression
    # rather than word by word (issue 9, load): the same marks.
    assert highlight(text, terms) == reference_highlight(text, terms)


@given(TEXTS, TERMS.map(" ".join), st.sampled_from([20, 60, 320]))
def test_snippets_agree_with_the_window_written_out_word_by_word(text: str, query: str, width: int) -> None:
    assert make_snippet(text, query, width) == reference_snippet(text, query, width)


@given(st.text(max_size=40))
def test_the_quick_fold_of_plain_ascii_words_agrees_with_the_full_rule(word: str) -> None:
    # Lists of 30 abstracts fold every word of each; ASCII words skip NFKD (issue 9, load).
    assert snippet._fold(word) == reference_fold(word)
