"""Snippets of an abstract around the words a query matched, as (text, matched) segments.

Templates render matched segments inside <mark>; keeping this pure and segment-based means
the HTML is always built by the autoescaping template, never by string concatenation.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

from papertide.domain.text import tokenize

Segment = tuple[str, bool]
_WORD = re.compile(r"\w+", re.UNICODE)
_ASCII_WORD = re.compile(r"[a-z0-9_]+")


def _fold(word: str) -> str:
    if word.isascii():
        # Most words of most abstracts: NFKD leaves ASCII as it is and it has no combining marks.
        return word.lower()
    folded = unicodedata.normalize("NFKD", word.lower())
    return "".join(ch for ch in folded if not unicodedata.combining(ch))


@dataclass(frozen=True, slots=True)
class _Terms:
    """Query terms ready for matching many words: the exact forms and the stem prefixes.

    A crude stem match (dynamics ~ dynamic, dynamical) mirrors the index's Porter stemmer: a
    term of four letters or more also matches words starting with it less its last two letters
    (at least four kept). Prepared once per text, not once per word: lists of 30 abstracts test
    thousands of words (issue 9, bench/load.py).
    """

    exact: frozenset[str]
    prefixes: tuple[str, ...]
    # The same rule as one regular expression, for ASCII text (most abstracts): a match is a
    # whole word whose lower case is a term or starts with a prefix. None: no term can match.
    ascii_words: re.Pattern[str] | None

    def matches(self, word: str) -> bool:
        """Whether a word of the text matches a term."""
        folded = _fold(word)
        return folded in self.exact or folded.startswith(self.prefixes)

    def find(self, text: str) -> Iterator[re.Match[str]]:
        """The words of ``text`` that match a term, in order."""
        if not text.isascii():
            return (match for match in _WORD.finditer(text) if self.matches(match.group(0)))
        if self.ascii_words is None:
            return iter(())
        return self.ascii_words.finditer(text)


def _prepare(terms: set[str]) -> _Terms:
    prefixes = tuple(term[: max(4, len(term) - 2)] for term in terms if len(term) >= 4)
    # An ASCII word lower-cases to ASCII word characters: other terms can never match one.
    usable = sorted(term for term in terms if _ASCII_WORD.fullmatch(term))
    stems = sorted({prefix for prefix in prefixes if _ASCII_WORD.fullmatch(prefix)})
    choices = [f"(?:{'|'.join(stems)})\\w*"] if stems else []
    choices += [f"(?:{'|'.join(usable)})(?!\\w)"] if usable else []
    pattern = re.compile(rf"(?<!\w)(?:{'|'.join(choices)})", re.ASCII | re.IGNORECASE) if choices else None
    return _Terms(frozenset(terms), prefixes, pattern)


def highlight(text: str, query_terms: list[str]) -> list[Segment]:
    """Split ``text`` into segments, marking words that match a query term."""
    terms = {term for term in (_fold(t) for t in query_terms) if term}
    if not terms:
        # Lists without a query (home, the period lists) would otherwise fold every word for nothing.
        return [(text, False)] if text else []
    segments: list[Segment] = []
    position = 0
    for match in _prepare(terms).find(text):
        if match.start() > position:
            segments.append((text[position : match.start()], False))
        segments.append((match.group(0), True))
        position = match.end()
    if position < len(text):
        segments.append((text[position:], False))
    return segments


def make_snippet(text: str, query: str, width: int = 320) -> list[Segment]:
    """A window of about ``width`` characters around the densest cluster of matched words."""
    terms = tokenize(query)
    if len(text) <= width:
        return highlight(text, terms)
    folded_terms = set(terms)
    starts = [match.start() for match in _prepare(folded_terms).find(text)] if folded_terms else []
    begin = 0
    if starts:
        best = max(starts, key=lambda s: sum(1 for other in starts if s <= other < s + width))
        begin = max(0, best - width // 4)
        space = text.rfind(" ", 0, begin)
        begin = space + 1 if space >= 0 and begin > 0 else begin
    end = min(len(text), begin + width)
    space = text.find(" ", end)
    end = space if space != -1 and space - end < 30 else end
    window = text[begin:end]
    segments = highlight(window, terms)
    if begin > 0:
        segments.insert(0, ("… ", False))
    if end < len(text):
        segments.append((" …", False))
    return segments
