"""Hugging Face daily papers (``/api/daily_papers``): papers plus upvotes as a trending signal.

Each listing is one featured date. A paper is stored with that date as ``listed_on`` and its
upvotes as ``external_upvotes`` (the store keeps the highest count seen), and the date's
upvote and comment counts go to ``paper_signals`` so trends over days stay visible.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import Engine

from papertide.domain.errors import InvalidInput, InvalidRecord
from papertide.domain.identifiers import parse_arxiv_id
from papertide.domain.limits import check_count
from papertide.domain.links import http_link
from papertide.domain.models import Paper, Signal
from papertide.ingest.http import PoliteClient
from papertide.ingest.paper_fields import compose_paper, parse_date, screen_paper_at
from papertide.ingest.report import IngestReport
from papertide.ingest.source import Item

SOURCE = "hf-daily"


def _count(value: Any, name: str, location: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        return 0
    try:
        return check_count(name, value)
    except InvalidInput as error:
        raise InvalidRecord(location, f"field '{name}' {error.reason}") from None


def _string(container: Mapping[str, Any], name: str) -> str | None:
    value = container.get(name)
    return value if isinstance(value, str) and value.strip() else None


def _http_url(value: str | None) -> str | None:
    """A link worth keeping (domain/links.py's rule) that fits its 512-character column."""
    link = http_link(value)
    return link if link is not None and len(link) <= 512 else None


def _submitter(item: Mapping[str, Any], paper: Mapping[str, Any]) -> str | None:
    """Who submitted the paper to Hugging Face's list: their full name, else their user name."""
    for holder in (item.get("submittedBy"), paper.get("submittedOnDailyBy")):
        if isinstance(holder, Mapping):
            name = _string(holder, "fullname") or _string(holder, "name")
            if name:
                clean = " ".join("".join(ch for ch in name if ch.isprintable()).split())
                return clean[:200] or None
    return None


def _stars(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**31 else None


def parse_daily_item(item: Any, location: str, listed_on: dt.date | None) -> tuple[Paper, Signal]:
    """One listing entry as a paper and its signal for the featured date.

    :param listed_on: the date asked for; without one, the date the entry was featured.
    """
    if not isinstance(item, Mapping) or not isinstance(item.get("paper"), Mapping):
        raise InvalidRecord(location, "expected an object with a 'paper' object")
    paper = item["paper"]
    raw_id = _string(paper, "id")
    if raw_id is None:
        raise InvalidRecord(location, "field 'paper.id' is missing")
    try:
        arxiv_id, version = parse_arxiv_id(raw_id)
    except InvalidRecord as error:
        raise InvalidRecord(location, f"field 'paper.id': {error.reason}") from None
    location = f"{location} ({arxiv_id})"
    title = _string(paper, "title") or _string(item, "title")
    if title is None:
        raise InvalidRecord(location, "field 'paper.title' is missing or empty")
    abstract = _string(paper, "summary")
    if abstract is None:
        raise InvalidRecord(location, "field 'paper.summary' (the abstract) is missing or empty")
    featured = listed_on or parse_date(
        _string(item, "submittedOnDailyAt") or _string(item, "publishedAt"), "publishedAt", location
    )
    if featured is None:
        raise InvalidRecord(location, "field 'publishedAt' (the featured date) is missing")
    authors = paper.get("authors")
    names = [
        author["name"]
        for author in (authors if isinstance(authors, list) else [])
        if isinstance(author, Mapping) and isinstance(author.get("name"), str) and not author.get("hidden")
    ]
    upvotes = _count(paper.get("upvotes"), "paper.upvotes", location)
    stored = screen_paper_at(
        compose_paper(
            arxiv_id=arxiv_id,
            version=1 if version is None else version,
            title=title,
            abstract=abstract,
            authors=names,
            published=parse_date(_string(paper, "publishedAt"), "paper.publishedAt", location),
            code_url=_string(paper, "githubRepo") or _string(item, "githubRepo"),
            listed_on=featured,
            external_upvotes=upvotes,
            location=f"{location} (githubRepo)",
        ),
        location,
    )
    signal = Signal(
        arxiv_id,
        SOURCE,
        featured,
        upvotes=upvotes,
        comments=_count(item.get("numComments"), "numComments", location),
        submitted_by=_submitter(item, paper),
        thumbnail_url=_http_url(_string(item, "thumbnail")),
        github_stars=_stars(paper.get("githubStars")),
        project_page=_http_url(_string(paper, "projectPage") or _string(item, "projectPage")),
    )
    return stored, signal


def parse_daily_papers(content: bytes, location: str, listed_on: dt.date | None) -> list[Item]:
    """A whole listing; a body that is not a JSON list (an HTML page, an error object) raises."""
    try:
        data = json.loads(content)
    except RecursionError:
        raise InvalidRecord(location, "JSON nested too deeply to be a listing of papers") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        start = content[:200].lstrip().lower()
        if start.startswith((b"<!doctype html", b"<html")):
            raise InvalidRecord(location, "expected JSON but the server sent an HTML page") from None
        raise InvalidRecord(location, f"not valid JSON: {error}") from None
    if not isinstance(data, list):
        detail = data.get("error") if isinstance(data, dict) else None
        raise InvalidRecord(location, f"expected a JSON list of papers{f': {detail}' if detail else ''}")
    items: list[Item] = []
    for number, entry in enumerate(data, start=1):
        try:
            items.extend(parse_daily_item(entry, f"{location} item {number}", listed_on))
        except InvalidRecord as problem:
            items.append(problem)
    return items


class HfDailySource:
    """The listings of some dates, or the latest listing when no date is given."""

    name = SOURCE

    def __init__(self, client: PoliteClient, base_url: str, dates: Sequence[dt.date | None]) -> None:
        self.client = client
        self.base_url = base_url
        self.dates = list(dates) or [None]

    def read(self) -> Iterator[Item]:
        """Fetch each date's listing in turn."""
        for day in self.dates:
            params: dict[str, str | int] = {"date": day.isoformat()} if day else {}
            fetched = self.client.fetch(self.base_url, params)
            yield from parse_daily_papers(fetched.content, f"{self.name} {fetched.url}", day)

    def finish(self, engine: Engine, report: IngestReport, now: dt.datetime) -> None:
        """Nothing to remember: listings are fetched by date."""
