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


def _clean_and_within_limits(paper: Paper) -> bool:
    """Whether every text field is within its limit and no field holds an XML-illegal character.

    One search over the fields joined instead of one per field: a snapshot screens a million
    papers, and per field the checks cost a fifth of the ingest's CPU (issue 13). A record this
    says no to goes through the per-field checks, which name the field.
    """
    if (
        len(paper.arxiv_id) > MAX_ID_CHARS
        or len(paper.title) > MAX_TITLE_CHARS
        or len(paper.abstract) > MAX_ABSTRACT_CHARS
        or (paper.authors and max(map(len, paper.authors)) > MAX_AUTHOR_CHARS)
        or (paper.categories and max(map(len, paper.categories)) > MAX_CATEGORY_CHARS)
    ):
        return False
    texts = [paper.arxiv_id, paper.title, paper.abstract, *paper.authors, *paper.categories]
    for value, limit in (
        (paper.primary_category, MAX_CATEGORY_CHARS),
        (paper.doi, MAX_ID_CHARS),
        (paper.journal_ref, MAX_JOURNAL_REF_CHARS),
        (paper.comments, MAX_COMMENTS_CHARS),
        (paper.abs_url, MAX_URL_CHARS),
        (paper.pdf_url, MAX_URL_CHARS),
        (paper.code_url, MAX_URL_CHARS),
    ):
        if value is not None:
            if len(value) > limit:
                return False
            texts.append(value)
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
    return dataclasses.replace(
        paper,
        arxiv_id=_check_text("arxiv_id", paper.arxiv_id, MAX_ID_CHARS) or "",
        title=_check_text("title", paper.title, MAX_TITLE_CHARS) or "",
        abstract=_check_text("abstract", paper.abstract, MAX_ABSTRACT_CHARS) or "",
        authors=tuple(_check_text("authors", name, MAX_AUTHOR_CHARS) or "" for name in paper.authors),
        categories=tuple(_check_text("categories", name, MAX_CATEGORY_CHARS) or "" for name in paper.categories),
        primary_category=_check_text("primary_category", paper.primary_category, MAX_CATEGORY_CHARS),
        doi=_check_text("doi", paper.doi, MAX_ID_CHARS),
        journal_ref=_check_text("journal_ref", paper.journal_ref, MAX_JOURNAL_REF_CHARS),
        comments=_check_text("comments", paper.comments, MAX_COMMENTS_CHARS),
        abs_url=_check_text("abs_url", paper.abs_url, MAX_URL_CHARS),
        pdf_url=_check_text("pdf_url", paper.pdf_url, MAX_URL_CHARS),
        code_url=_check_text("code_url", paper.code_url, MAX_URL_CHARS),
    )


def screen_signal(signal: Signal) -> Signal:
    """``signal`` when its counts can be stored; raises InvalidInput otherwise."""
    check_count("upvotes", signal.upvotes)
    check_count("comments", signal.comments)
    return signal
