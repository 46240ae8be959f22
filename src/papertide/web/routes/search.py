"""The search results page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from papertide.domain.errors import InvalidQuery
from papertide.search.query import search
from papertide.store.papers import get_papers
from papertide.web.deps import ConnDep, TemplatesDep

router = APIRouter()
PAGE_SIZE = 20


@router.get("/search", response_class=HTMLResponse, include_in_schema=False)
def search_papers(
    request: Request,
    conn: ConnDep,
    templates: TemplatesDep,
    q: Annotated[str, Query(max_length=500)] = "",
    page: Annotated[int, Query(ge=1, le=500)] = 1,
) -> HTMLResponse:
    """Results for ``q``, twenty a page, with matched words highlighted."""
    error = None
    results = []
    query = q.strip()
    if query:
        try:
            hits = search(conn, query, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE)
        except InvalidQuery as problem:
            error = str(problem)
            hits = []
        papers = {p.id: p for p in get_papers(conn, [hit.paper_id for hit in hits[:PAGE_SIZE]])}
        results = [(papers[hit.paper_id], hit) for hit in hits[:PAGE_SIZE] if hit.paper_id in papers]
        has_next = len(hits) > PAGE_SIZE
    else:
        has_next = False
    return templates.TemplateResponse(
        request,
        "search.html",
        {"query": query, "results": results, "page": page, "has_next": has_next, "error": error},
        status_code=400 if error else 200,
    )
