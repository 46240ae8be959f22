"""Collections: a member's named, ordered lists of papers with a note per paper (issue 11).

Titles, descriptions and notes are plain text, stored as typed and shown through autoescaping
templates: never Markdown, never HTML. The checks here are pure and raise InvalidInput.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

from papertide.domain.errors import InvalidInput
from papertide.domain.members import single_line_problem
from papertide.domain.models import StoredPaper
from papertide.domain.plain_text import text_problem

TITLE_MAX = 200
DESCRIPTION_MAX = 2000
NOTE_MAX = 1000
SLUG_MAX = 80


@dataclass(frozen=True, slots=True)
class Collection:
    """A collection's header: who owns it, what it is called, whether everyone may read it."""

    id: int
    owner_id: int
    owner_handle: str | None
    owner_name: str
    slug: str
    title: str
    description: str
    is_public: bool
    created_at: dt.datetime
    updated_at: dt.datetime
    paper_count: int = 0


@dataclass(frozen=True, slots=True)
class CollectionItem:
    """A paper at its place in a collection, with the owner's note."""

    paper: StoredPaper
    position: int
    note: str
    added_at: dt.datetime


def _multiline_problem(value: str) -> str | None:
    if problem := text_problem(value, multiline=True):
        return problem
    for ch in value:
        category = unicodedata.category(ch)
        if (category == "Cc" and ch not in "\n\t") or (category == "Cf" and ch not in "\u200c\u200d"):
            return f"contains the invisible or control character U+{ord(ch):04X}"
    return None


def parse_title(raw: str) -> str:
    """A collection title: one line, 1-200 characters, spaces collapsed."""
    text = unicodedata.normalize("NFC", raw) if isinstance(raw, str) else ""
    problem = single_line_problem(text)
    if problem:
        raise InvalidInput("title", problem)
    text = " ".join(text.split())
    if not text:
        raise InvalidInput("title", "give the collection a title")
    if len(text) > TITLE_MAX:
        raise InvalidInput("title", f"must be at most {TITLE_MAX} characters, got {len(text)}")
    return text


def _parse_text(field: str, raw: str, limit: int) -> str:
    text = unicodedata.normalize("NFC", raw).replace("\r\n", "\n").replace("\r", "\n").strip()
    problem = _multiline_problem(text)
    if problem:
        raise InvalidInput(field, problem)
    if len(text) > limit:
        raise InvalidInput(field, f"must be at most {limit} characters, got {len(text)}")
    return text


def parse_description(raw: str | None) -> str:
    """A collection description: plain text, up to 2000 characters (may be empty)."""
    return _parse_text("description", raw or "", DESCRIPTION_MAX)


def parse_note(raw: str | None) -> str:
    """A note on a paper in a collection: plain text, up to 1000 characters (may be empty)."""
    return _parse_text("note", raw or "", NOTE_MAX)


def slugify(title: str) -> str:
    """The URL part made from a title: ASCII letters and digits joined by '-' ("collection" when none)."""
    folded = unicodedata.normalize("NFKD", title.casefold())
    ascii_text = folded.encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")[:SLUG_MAX].strip("-")
    return slug or "collection"
