"""What the search pages, the search API and the search feed share: the service and its results with paper details."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import Depends
from sqlalchemy import Connection

from papertide.domain.models import Hit, StoredPaper
from papertide.search.query import SearchService
from papertide.store.papers import get_papers
from papertide.web.deps import ServicesDep


def get_search(services: ServicesDep) -> SearchService:
    """The app's search service (built once with the services)."""
    return services.search


SearchDep = Annotated[SearchService, Depends(get_search)]


def fetch_hit_papers(conn: Connection, hits: Sequence[Hit]) -> list[tuple[StoredPaper, Hit]]:
    """Each hit with its paper, in rank order; a paper deleted since it was indexed is left out."""
    papers = {stored.id: stored for stored in get_papers(conn, [hit.paper_id for hit in hits])}
    return [(papers[hit.paper_id], hit) for hit in hits if hit.paper_id in papers]


def compose_filter_query(q: str, *, cat: str = "", author: str = "", since: str = "", until: str = "") -> str:
    """The query text with the search form's filter fields appended in the query syntax.

    The fields are a convenience over the syntax, so both paths share one parser and its errors.
    """
    parts = [q.strip()]
    if cat.strip():
        parts.append("cat:" + ",".join(item for item in cat.replace(" ", ",").split(",") if item))
    if author.strip():
        parts.append('author:"' + author.replace('"', " ").strip() + '"')
    if since.strip():
        parts.append("since:" + since.replace(" ", ""))
    if until.strip():
        parts.append("until:" + until.replace(" ", ""))
    return " ".join(part for part in parts if part)
