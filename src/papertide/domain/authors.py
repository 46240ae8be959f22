"""Author names normalised so that one author's variants meet on one page.

arXiv metadata spells one person many ways: "Ada Lovelace", "A. Lovelace", "Lovelace, Ada",
"Ad\\'a Lovelace" (TeX), "ADA LOVELACE". The **key** of a name is its folded surname and the
first letter of its first given name (``lovelace_a``): TeX accents are rendered, accents and
case folded, particles ("van der", "de") and suffixes ("Jr.", "III") set aside. Every variant
above has that key, so one author page and one follow cover them all.

Two different people can share a key ("Ada Lovelace" and "Alan Lovelace"). Rather than merge
them silently, :func:`group_name_forms` keeps the distinct full forms under a key and says
when they cannot be the same person (different full first names), so a page can say
"2 different names share this page". Known limit: a name written in both orders without a
comma ("Wei Zhang", "Zhang Wei") gets two keys.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from papertide.domain.latex import render_tex

# Letters NFKD does not decompose into a base letter and a mark.
_FOLD = str.maketrans({"ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "æ": "ae", "œ": "oe", "ı": "i"})
_PARTICLES = frozenset(
    {"van", "von", "der", "den", "de", "del", "della", "di", "da", "dos", "das", "du", "le", "la", "ten", "ter", "bin"}
)
_SUFFIXES = frozenset({"jr", "sr", "ii", "iii", "iv"})
MAX_KEY_LENGTH = 200


def fold_name(text: str) -> str:
    """A name's comparable form: TeX rendered, accents and case folded, apostrophes dropped."""
    rendered = render_tex(text)
    if rendered.isascii():
        # Most names: nothing to decompose or translate, and ASCII casefolds as lower() does.
        return rendered.lower().replace("'", "")
    decomposed = unicodedata.normalize("NFKD", rendered.casefold())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return stripped.translate(_FOLD).replace("'", "").replace("’", "")


# Runs of characters that are str.isalnum() ([^\W_]: a word character but the underscore) or a hyphen.
_WORD = re.compile(r"(?:[^\W_]|-)+")


def _words(text: str) -> list[str]:
    """Alphanumeric runs (hyphens kept inside a word: "smith-jones")."""
    return [stripped for word in _WORD.findall(text) if (stripped := word.strip("-"))]


@dataclass(frozen=True, slots=True)
class AuthorName:
    """One written name and what it normalises to."""

    name: str
    key: str
    surname: str
    given: tuple[str, ...]

    @property
    def has_full_given_name(self) -> bool:
        """Whether the first given name is written out ("Ada"), not an initial ("A.")."""
        return bool(self.given) and len(self.given[0]) > 1


@lru_cache(maxsize=16384)
def parse_author_name(name: str) -> AuthorName:
    """Split a written name into folded surname and given names, and compute its key.

    "Lovelace, Ada" (surname first, with a comma) and "Ada Lovelace" agree. A name without
    letters has the key "". Remembered for the most recent names (``AuthorName`` is immutable): the
    same authors come back paper after paper at ingest, and card after card on pages (issue 9, 13).
    """
    shown = " ".join(render_tex(name).split())
    parts = [part for part in fold_name(name).split(",") if _words(part)]
    parts = [part for part in parts if not set(_words(part)) <= _SUFFIXES] or parts[:1]
    if len(parts) >= 2:
        surname_words = [w for w in _words(parts[0]) if w not in _SUFFIXES]
        given_words = [w for w in _words(" ".join(parts[1:])) if w not in _SUFFIXES]
    else:
        words = [w for w in _words(parts[0]) if w not in _SUFFIXES] if parts else []
        surname_words, given_words = words[-1:], words[:-1]
    given = tuple(w for w in given_words if w not in _PARTICLES)
    surname = surname_words[-1] if surname_words else ""
    if not surname:
        return AuthorName(name=shown, key="", surname="", given=())
    key = f"{surname}_{given[0][0]}" if given else surname
    return AuthorName(name=shown, key=key[:MAX_KEY_LENGTH], surname=surname, given=given)


def author_key(name: str) -> str:
    """The key author pages and follows are stored under ("" for a name without letters).

    Every card links its first six authors, and the same papers are shown again and again
    (issue 9, bench/load.py): the parse is remembered (``parse_author_name``).
    """
    return parse_author_name(name).key


def same_person_possible(first: AuthorName, second: AuthorName) -> bool:
    """Whether two names of one key may be one person: their given names agree wherever both are written out.

    "A. Lovelace" fits "Ada Lovelace" and "Alan Lovelace"; "Ada Lovelace" does not fit "Alan Lovelace".
    """
    if first.key != second.key:
        return False
    for mine, theirs in zip(first.given, second.given, strict=False):
        if len(mine) > 1 and len(theirs) > 1 and mine != theirs:
            return False
        if mine[0] != theirs[0]:
            return False
    return True


@dataclass(frozen=True, slots=True)
class NameForms:
    """The written forms found under one key, most frequent first, and whether they conflict.

    ``people`` holds one representative form per full first name ("Ada Lovelace", "Alan
    Lovelace"); more than one means the key very likely covers several people.
    """

    key: str
    forms: tuple[str, ...]
    people: tuple[str, ...]

    @property
    def display_name(self) -> str:
        """The form to title the page with: the most common one with a full first name."""
        return self.people[0] if self.people else (self.forms[0] if self.forms else self.key)

    @property
    def is_ambiguous(self) -> bool:
        """Whether different people very likely share the key."""
        return len(self.people) > 1

    def describe(self) -> str:
        """A sentence for the page: the collision, the variants, or "" when there is one form."""
        if self.is_ambiguous:
            return (
                f"{len(self.people)} different names share this page: {', '.join(self.people)}. "
                "They may be different people."
            )
        if len(self.forms) > 1:
            return f"Also written as: {', '.join(form for form in self.forms if form != self.display_name)}."
        return ""


def group_name_forms(names: Iterable[str], key: str | None = None) -> NameForms:
    """Group the written names of one key (those of other keys are ignored when ``key`` is given)."""
    counts: Counter[str] = Counter()
    parsed: dict[str, AuthorName] = {}
    for name in names:
        author = parse_author_name(name)
        if not author.key or (key is not None and author.key != key):
            continue
        key = key or author.key
        counts[author.name] += 1
        parsed.setdefault(author.name, author)
    ordered = sorted(counts, key=lambda form: (-counts[form], form))
    people: dict[str, str] = {}
    for form in ordered:
        author = parsed[form]
        if author.has_full_given_name:
            people.setdefault(author.given[0], form)
    return NameForms(key=key or "", forms=tuple(ordered), people=tuple(people.values()))


@dataclass(frozen=True, slots=True)
class FollowedAuthor:
    """An author a member follows: the page's key and the name form the member chose."""

    author_key: str
    display_name: str
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Coauthor:
    """Someone who wrote papers with an author: their key, a written form and how many joint papers."""

    author_key: str
    name: str
    papers: int
