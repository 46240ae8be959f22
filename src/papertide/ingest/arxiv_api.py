"""The arXiv API (Atom 1.0 over ``/api/query``): paged search queries.

Paging follows https://info.arxiv.org/help/api/user-manual.html: ``start`` and
``max_results`` per request, ``opensearch:totalResults`` for the size of the result set,
results sorted by last update so a scheduled run sees fresh papers first.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import Engine

from papertide.domain.errors import InvalidRecord
from papertide.domain.identifiers import parse_arxiv_id
from papertide.domain.models import Paper
from papertide.ingest.http import FetchError, PoliteClient
from papertide.ingest.markup import child_text, parse_xml
from papertide.ingest.paper_fields import compose_paper, parse_date
from papertide.ingest.report import IngestReport
from papertide.ingest.source import Item

ATOM = "{http://www.w3.org/2005/Atom}"
ARXIV = "{http://arxiv.org/schemas/atom}"
OPENSEARCH = "{http://a9.com/-/spec/opensearch/1.1/}"
# arXiv sometimes answers a page with no entries although more results exist; asking again helps.
EMPTY_PAGE_TRIES = 3


@dataclass(frozen=True, slots=True)
class AtomPage:
    """One response: the size of the whole result set and this page's records."""

    total: int
    start: int
    items: list[Paper | InvalidRecord]


def _int(root: ElementTree.Element, tag: str, location: str) -> int:
    text = child_text(root, tag)
    if text is None or not text.strip().isdigit():
        raise InvalidRecord(location, f"the feed has no valid <{tag.split('}')[-1]}>: is this an arXiv API response?")
    return int(text)


def parse_atom_entry(entry: ElementTree.Element, location: str) -> Paper:
    """One ``<entry>`` as a Paper; InvalidRecord names the missing or bad field."""
    raw_id = child_text(entry, f"{ATOM}id")
    if raw_id is None:
        raise InvalidRecord(location, "entry has no <id>")
    try:
        arxiv_id, version = parse_arxiv_id(raw_id)
    except InvalidRecord as error:
        raise InvalidRecord(location, f"field 'id': {error.reason}") from None
    location = f"{location} ({arxiv_id})"
    title = child_text(entry, f"{ATOM}title")
    if title is None:
        raise InvalidRecord(location, "field 'title' is missing or empty")
    abstract = child_text(entry, f"{ATOM}summary")
    if abstract is None:
        raise InvalidRecord(location, "field 'summary' (the abstract) is missing or empty")
    primary = entry.find(f"{ARXIV}primary_category")
    return compose_paper(
        arxiv_id=arxiv_id,
        version=version or 1,
        title=title,
        abstract=abstract,
        authors=[child_text(author, f"{ATOM}name") or "" for author in entry.findall(f"{ATOM}author")],
        categories=[category.get("term", "") for category in entry.findall(f"{ATOM}category")],
        primary_category=primary.get("term") if primary is not None else None,
        published=parse_date(child_text(entry, f"{ATOM}published"), "published", location),
        updated=parse_date(child_text(entry, f"{ATOM}updated"), "updated", location),
        doi=child_text(entry, f"{ARXIV}doi"),
        journal_ref=child_text(entry, f"{ARXIV}journal_ref"),
        comments=child_text(entry, f"{ARXIV}comment"),
    )


def parse_atom_feed(content: bytes, location: str) -> AtomPage:
    """A whole response; an error feed, an HTML page or malformed XML raises InvalidRecord."""
    root = parse_xml(content, location, "an Atom feed")
    if root.tag != f"{ATOM}feed":
        raise InvalidRecord(location, f"expected an Atom <feed>, got <{root.tag.split('}')[-1]}>")
    entries = root.findall(f"{ATOM}entry")
    # Errors come back as a feed whose only entry has an id under /api/errors (user manual 3.4).
    if len(entries) == 1 and "/api/errors" in (child_text(entries[0], f"{ATOM}id") or ""):
        message = child_text(entries[0], f"{ATOM}summary") or "unknown error"
        raise InvalidRecord(location, f"the arXiv API refused the query: {' '.join(message.split())}")
    start = _int(root, f"{OPENSEARCH}startIndex", location)
    items: list[Paper | InvalidRecord] = []
    for offset, entry in enumerate(entries):
        try:
            items.append(parse_atom_entry(entry, f"arxiv-api result {start + offset + 1}"))
        except InvalidRecord as problem:
            items.append(problem)
    return AtomPage(total=_int(root, f"{OPENSEARCH}totalResults", location), start=start, items=items)


class ArxivApiSource:
    """One query's results, up to ``max_results``, ``page_size`` per request."""

    name = "arxiv-api"

    def __init__(
        self,
        client: PoliteClient,
        base_url: str,
        query: str,
        *,
        max_results: int,
        page_size: int = 100,
        sort_by: str = "lastUpdatedDate",
    ) -> None:
        self.client = client
        self.base_url = base_url
        self.query = query
        self.max_results = max_results
        self.page_size = page_size
        self.sort_by = sort_by

    def read(self) -> Iterator[Item]:
        """Fetch page after page until the results or ``max_results`` are exhausted."""
        start = 0
        empty_pages = 0
        while start < self.max_results:
            params: dict[str, str | int] = {
                "search_query": self.query,
                "start": start,
                "max_results": min(self.page_size, self.max_results - start),
                "sortBy": self.sort_by,
                "sortOrder": "descending",
            }
            fetched = self.client.fetch(self.base_url, params)
            page = parse_atom_feed(fetched.content, f"{self.name} {fetched.url}")
            if start >= page.total:
                return
            if not page.items:
                empty_pages += 1
                if empty_pages >= EMPTY_PAGE_TRIES:
                    raise FetchError(
                        f"{self.name}: {fetched.url}: no entries at start={start} although the query "
                        f"has {page.total} results, {empty_pages} times in a row"
                    )
                continue
            empty_pages = 0
            yield from page.items
            start += len(page.items)
            if start >= page.total:
                return

    def finish(self, engine: Engine, report: IngestReport, now: dt.datetime) -> None:
        """Nothing to remember: a query is repeated as a whole."""
