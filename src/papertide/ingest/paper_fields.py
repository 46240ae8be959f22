"""Validated :class:`Paper` values from loosely typed fields, the one normalisation every source shares.

Field parsers (dates, author lists), `compose_paper` for sources that parsed their own format,
and `paper_from_record` for the JSON objects of the documented JSONL schema (docs/jsonl.md).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

from papertide.domain.errors import InvalidInput, InvalidRecord
from papertide.domain.identifiers import abs_url, parse_arxiv_id, pdf_url
from papertide.domain.limits import screen_paper
from papertide.domain.links import link_problem
from papertide.domain.models import Paper
from papertide.domain.text import collapse_whitespace, find_code_url, normalize_text


def _text(record: Mapping[str, Any], name: str, location: str, *, required: bool = False) -> str | None:
    value = record.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InvalidRecord(location, f"field '{name}' is missing or empty")
        return None
    if not isinstance(value, str):
        raise InvalidRecord(location, f"field '{name}' must be a string, got {type(value).__name__}")
    return normalize_text(value)


log = logging.getLogger("papertide.ingest")


def checked_link(value: str | None, location: str, name: str) -> str | None:
    """``value`` when it may become a link (http/https, domain/links.py); else None and a warning.

    Only the field is dropped: the paper is stored without that link, and the warning names
    where the value came from (``FILE:LINE``) and the field, so the operator can fix the source.
    """
    if value is None:
        return None
    problem = link_problem(value)
    if problem is None:
        return value.strip()
    log.warning("%s: field '%s' dropped: %s", location, name, problem)
    return None


def _link(record: Mapping[str, Any], name: str, location: str) -> str | None:
    return checked_link(_text(record, name, location), location, name)


def _strings(record: Mapping[str, Any], name: str, location: str, separator: str) -> tuple[str, ...]:
    value = record.get(name)
    if value is None:
        return ()
    if isinstance(value, str):
        parts = value.split(separator)
    elif isinstance(value, list) and all(isinstance(item, str) for item in value):
        parts = value
    else:
        raise InvalidRecord(location, f"field '{name}' must be a list of strings")
    return tuple(cleaned for cleaned in (collapse_whitespace(part) for part in parts) if cleaned)


def parse_date(value: Any, name: str, location: str) -> dt.date | None:
    """A date from ``YYYY-MM-DD`` or an ISO timestamp; None when absent."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidRecord(location, f"field '{name}' must be a date string YYYY-MM-DD")
    try:
        if len(value) == 10:
            return dt.date.fromisoformat(value)
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).date()
    except ValueError:
        raise InvalidRecord(location, f"field '{name}' is not a date: {value!r}") from None


_MONTHS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1
    )
}
_AUTHOR_AND = re.compile(r",?\s+and\s+")


def parse_rfc2822_date(value: str | None) -> dt.date | None:
    """The date of an RFC 2822 timestamp as arXiv prints version dates (``Mon, 2 Apr 2007 19:18:42 GMT``).

    Parsed by hand: the snapshot has one per version and ``email.utils`` is several times slower.
    None when absent or not in that form.
    """
    if not value:
        return None
    parts = value.split()
    if len(parts) >= 4 and parts[0].endswith(","):
        parts = parts[1:]
    try:
        return dt.date(int(parts[2]), _MONTHS[parts[1][:3].lower()], int(parts[0]))
    except (IndexError, KeyError, ValueError):
        return None


def parse_author_list(text: str | None) -> list[str]:
    """Split arXiv's one-line author list (``A. One, B. Two and C. Three``) into names."""
    if not text:
        return []
    return [name for name in (collapse_whitespace(part) for part in _AUTHOR_AND.sub(", ", text).split(",")) if name]


def _int(record: Mapping[str, Any], name: str, location: str, default: int) -> int:
    value = record.get(name, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidRecord(location, f"field '{name}' must be a non-negative integer")
    return value


def clean_text(text: str) -> str:
    """``domain.text.normalize_text`` without its regex: the snapshot calls it millions of times.

    ASCII is already NFC, and ``str.split()`` splits on the same Unicode whitespace as ``\\s+``.
    """
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    return " ".join(text.split())


def compose_paper(
    *,
    arxiv_id: str,
    version: int,
    title: str,
    abstract: str,
    authors: Iterable[str] = (),
    categories: Iterable[str] = (),
    primary_category: str | None = None,
    published: dt.date | None = None,
    updated: dt.date | None = None,
    doi: str | None = None,
    journal_ref: str | None = None,
    comments: str | None = None,
    code_url: str | None = None,
    listed_on: dt.date | None = None,
    external_upvotes: int = 0,
    location: str = "",
) -> Paper:
    """A Paper from the fields an arXiv-based source parsed, normalised the one way all sources share.

    Links are the canonical unversioned https ones whatever the source printed, so the same
    paper from two sources hashes the same and a re-import is "unchanged", not "updated".
    A ``code_url`` that may not be a link is dropped with a warning naming ``location``.
    """
    code_url = checked_link(code_url, location or arxiv_id, "code_url")
    cleaned_comments = clean_text(comments) if comments else None
    cleaned_abstract = clean_text(abstract)
    unique_categories = tuple(dict.fromkeys(part for part in categories if part))
    if code_url is None and ("http" in abstract or (cleaned_comments and "http" in cleaned_comments)):
        code_url = find_code_url(cleaned_comments, cleaned_abstract)
    return Paper(
        arxiv_id=arxiv_id,
        version=version,
        title=clean_text(title),
        abstract=cleaned_abstract,
        authors=tuple(name for name in (clean_text(author) for author in authors) if name),
        categories=unique_categories,
        primary_category=primary_category or (unique_categories[0] if unique_categories else None),
        published=published,
        updated=updated or published,
        doi=clean_text(doi) or None if doi else None,
        journal_ref=clean_text(journal_ref) or None if journal_ref else None,
        comments=cleaned_comments or None,
        abs_url=abs_url(arxiv_id),
        pdf_url=pdf_url(arxiv_id),
        code_url=code_url,
        listed_on=listed_on,
        external_upvotes=external_upvotes,
    )


def paper_from_record(record: Any, location: str) -> Paper:
    """Validate one JSONL record of the documented schema (docs/jsonl.md) into a Paper."""
    if not isinstance(record, Mapping):
        raise InvalidRecord(location, f"expected a JSON object, got {type(record).__name__}")
    raw_id = record.get("arxiv_id", record.get("id"))
    if not isinstance(raw_id, str) or not raw_id.strip():
        raise InvalidRecord(location, "field 'arxiv_id' is missing or not a string")
    try:
        arxiv_id, id_version = parse_arxiv_id(raw_id)
    except InvalidRecord as error:
        raise InvalidRecord(location, f"field 'arxiv_id': {error.reason}") from None
    version = _int(record, "version", location, 1 if id_version is None else id_version)
    if version < 1:
        raise InvalidRecord(location, "field 'version' must be at least 1 (arXiv versions start at 1)")
    title = _text(record, "title", location, required=True) or ""
    abstract = _text(record, "abstract", location, required=True) or ""
    comments = _text(record, "comments", location)
    categories = _strings(record, "categories", location, " ")
    primary = _text(record, "primary_category", location) or (categories[0] if categories else None)
    published = parse_date(record.get("published"), "published", location)
    listed_on = parse_date(record.get("listed_on", record.get("daily_date")), "listed_on", location)
    paper = Paper(
        arxiv_id=arxiv_id,
        version=version,
        title=title,
        abstract=abstract,
        authors=_strings(record, "authors", location, ","),
        categories=categories,
        primary_category=primary,
        published=published,
        updated=parse_date(record.get("updated"), "updated", location) or published,
        doi=_text(record, "doi", location),
        journal_ref=_text(record, "journal_ref", location),
        comments=comments,
        abs_url=_link(record, "abs_url", location) or abs_url(arxiv_id),
        pdf_url=_link(record, "pdf_url", location) or pdf_url(arxiv_id),
        code_url=_link(record, "code_url", location) or find_code_url(comments, abstract),
        listed_on=listed_on,
        external_upvotes=_int(record, "upvotes", location, 0),
    )
    return screen_paper_at(paper, location)


def screen_paper_at(paper: Paper, location: str) -> Paper:
    """``domain.limits.screen_paper``, its complaint reported as an InvalidRecord at ``location``."""
    try:
        return screen_paper(paper)
    except InvalidInput as error:
        raise InvalidRecord(location, f"field '{error.field}' {error.reason}") from None
