"""What a stored paper may hold: field size limits and the characters XML cannot carry.

Every source's papers pass :func:`screen_paper` before they are stored (ingest/pipeline.py),
so one hostile record is reported and skipped instead of costing minutes and gigabytes or
breaking every feed it appears in (issue 9). The limits are documented in docs/ingest.md;
they are far above any real arXiv record (arXiv caps abstracts at 1,920 characters).
"""

from __future__ import annotations

import dataclasses
import re

from papertide.domain.errors import InvalidInput
from papertide.domain.models import Paper, Signal

MAX_TITLE_CHARS = 1_000
MAX_ABSTRACT_CHARS = 20_000
MAX_AUTHORS = 10_000
MAX_AUTHOR_CHARS = 300
MAX_COMMENTS_CHARS = 2_000
MAX_JOURNAL_REF_CHARS = 1_000
MAX_URL_CHARS = 2_000
MAX_ID_CHARS = 256
MAX_CATEGORIES = 100
MAX_CATEGORY_CHARS = 64
MAX_VERSION = 1_000
# Counts are stored as 32-bit integers on PostgreSQL; a billion upvotes is already absurd.
MAX_COUNT = 1_000_000_000
# Row ids (comments, collections, members...) are 32-bit INTEGER columns on PostgreSQL: a larger
# id can name nothing, and must be refused before it reaches the driver (which raises, a 500).
MAX_ROW_ID = 2**31 - 1
# One JSONL line; a longer one is skipped without being read into memory whole.
MAX_LINE_BYTES = 4 * 1024 * 1024

# Characters XML 1.0 cannot carry (C0 controls but tab, newline and return; lone surrogates;
# U+FFFE and U+FFFF): stripped from stored text and from every XML or HTML output.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def strip_xml_illegal(text: str) -> str:
    """``text`` without the characters an XML document cannot contain."""
    return _XML_ILLEGAL.sub("", text)


def clean_output(value: object) -> object:
    """A template value with XML-illegal characters removed, of the same string type (Markup stays Markup).

    Jinja environments pass every ``{{ value }}`` through this (``finalize``), so text stored
    before the ingest checks existed, or typed by a person, cannot make a page ill-formed.
    """
    if isinstance(value, str) and _XML_ILLEGAL.search(value):
        return type(value)(_XML_ILLEGAL.sub("", value))
    return value


def _check_text(name: str, value: str | None, limit: int) -> str | None:
    if value is None:
        return None
    surrogate = _SURROGATE.search(value)
    if surrogate:
        raise InvalidInput(name, f"holds a lone surrogate (U+{ord(surrogate.group()):04X}), which is not a character")
    if len(value) > limit:
        raise InvalidInput(name, f"is {len(value):,} characters long; at most {limit:,} are accepted")
    return strip_xml_illegal(value)


def check_count(name: str, value: int) -> int:
    """``value`` when it is a count papertide can store; raises InvalidInput otherwise."""
    if value < 0 or value > MAX_COUNT:
        raise InvalidInput(name, f"must be between 0 and {MAX_COUNT:,}, got {value:.3g}")
    return value


def check_version(value: int) -> int:
    """``value`` when it is an arXiv version number (they start at 1); raises InvalidInput otherwise."""
    if value < 1 or value > MAX_VERSION:
        raise InvalidInput("version", f"must be from 1 (arXiv versions start at 1) to {MAX_VERSION}, got {value:.3g}")
    return value


# Every text field a paper stores, in the order the checks name them, with its limit; the "many"
# fields hold a tuple of texts. A None in a field the model requires (_REQUIRED) is stored empty.
_TEXT_FIELDS = (
    ("arxiv_id", MAX_ID_CHARS, False),
    ("title", MAX_TITLE_CHARS, False),
    ("abstract", MAX_ABSTRACT_CHARS, False),
    ("authors", MAX_AUTHOR_CHARS, True),
    ("categories", MAX_CATEGORY_CHARS, True),
    ("primary_category", MAX_CATEGORY_CHARS, False),
    ("doi", MAX_ID_CHARS, False),
    ("journal_ref", MAX_JOURNAL_REF_CHARS, False),
    ("comments", MAX_COMMENTS_CHARS, False),
    ("abs_url", MAX_URL_CHARS, False),
    ("pdf_url", MAX_URL_CHARS, False),
    ("code_url", MAX_URL_CHARS, False),
)
_REQUIRED = frozenset({"arxiv_id", "title", "abstract"})


def _clean_and_within_limits(paper: Paper) -> bool:
    """Whether every text field is within its limit and no field holds an XML-illegal character.

    One search over the fields joined instead of one per field: a snapshot screens a million
    papers, and per field the checks cost a fifth of the ingest's CPU (issue 13). A record this
    says no to (or one with a missing text where the model wants one) goes through the per-field
    checks, which name the field.
    """
    texts: list[str] = []
    for name, limit, many in _TEXT_FIELDS:
        value = getattr(paper, name)
        for text in value if many else (value,):
            if text is None:
                if many or name in _REQUIRED:
                    return False
                continue
            if len(text) > limit:
                return False
            texts.append(text)
    return _XML_ILLEGAL.search("\n".join(texts)) is None


def screen_paper(paper: Paper) -> Paper:
    """``paper`` with XML-illegal characters removed; raises InvalidInput naming a field over its limit."""
    if len(paper.authors) > MAX_AUTHORS:
        raise InvalidInput("authors", f"lists {len(paper.authors):,} names; at most {MAX_AUTHORS:,} are accepted")
    if len(paper.categories) > MAX_CATEGORIES:
        raise InvalidInput("categories", f"lists {len(paper.categories):,}; at most {MAX_CATEGORIES} are accepted")
    check_version(paper.version)
    check_count("upvotes", paper.external_upvotes)
    if _clean_and_within_limits(paper):
        return paper
    return _screen_fields(paper)


def _screen_fields(paper: Paper) -> Paper:
    """The per-field checks: the first field over its limit or holding a lone surrogate is named."""
    changes: dict[str, object] = {}
    for name, limit, many in _TEXT_FIELDS:
        value = getattr(paper, name)
        if many:
            changes[name] = tuple(_check_text(name, text, limit) or "" for text in value)
        else:
            checked = _check_text(name, value, limit)
            changes[name] = (checked or "") if name in _REQUIRED else checked
    return dataclasses.replace(paper, **changes)  # type: ignore[arg-type]


def screen_signal(signal: Signal) -> Signal:
    """``signal`` when its counts can be stored; raises InvalidInput otherwise."""
    check_count("upvotes", signal.upvotes)
    check_count("comments", signal.comments)
    return signal
