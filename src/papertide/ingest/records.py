"""Turning loosely typed records (JSON objects) into validated :class:`Paper` values."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from papertide.domain.errors import InvalidRecord
from papertide.domain.identifiers import abs_url, parse_arxiv_id, pdf_url
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


def _int(record: Mapping[str, Any], name: str, location: str, default: int) -> int:
    value = record.get(name, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidRecord(location, f"field '{name}' must be a non-negative integer")
    return value


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
    version = _int(record, "version", location, id_version or 1)
    title = _text(record, "title", location, required=True) or ""
    abstract = _text(record, "abstract", location, required=True) or ""
    comments = _text(record, "comments", location)
    categories = _strings(record, "categories", location, " ")
    primary = _text(record, "primary_category", location) or (categories[0] if categories else None)
    published = parse_date(record.get("published"), "published", location)
    listed_on = parse_date(record.get("listed_on", record.get("daily_date")), "listed_on", location)
    return Paper(
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
        abs_url=_text(record, "abs_url", location) or abs_url(arxiv_id),
        pdf_url=_text(record, "pdf_url", location) or pdf_url(arxiv_id),
        code_url=_text(record, "code_url", location) or find_code_url(comments, abstract),
        listed_on=listed_on,
        external_upvotes=_int(record, "upvotes", location, 0),
    )
