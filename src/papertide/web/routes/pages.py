"""HTML pages: paper detail (the home page, trending now, is in routes/lists.py)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from papertide.domain.errors import InvalidRecord
from papertide.domain.identifiers import parse_arxiv_id
from papertide.store.papers import get_paper_by_arxiv_id
from papertide.web.deps import ConnDep, TemplatesDep
from papertide.web.search_results import SearchDep, fetch_hit_papers

router = APIRouter()
SIMILAR_PAPERS = 6


@router.get("/papers/{arxiv_id:path}", response_class=HTMLResponse, include_in_schema=False)
def read_paper(
    request: Request, arxiv_id: str, conn: ConnDep, templates: TemplatesDep, search: SearchDep
) -> HTMLResponse:
    """One paper, by its arXiv id (a version suffix is ignored)."""
    try:
        key, _version = parse_arxiv_id(arxiv_id)
    except InvalidRecord:
        raise HTTPException(404, f"{arxiv_id!r} is not an arXiv identifier.") from None
    stored = get_paper_by_arxiv_id(conn, key)
    if stored is None:
        raise HTTPException(404, f"No paper {key} in this collection.")
    # "Similar papers" (issue 4): nearest by embedding, by shared words before the paper has one.
    related = fetch_hit_papers(conn, search.similar(stored.id, SIMILAR_PAPERS))
    return templates.TemplateResponse(
        request, "paper.html", {"item": stored, "paper": stored.paper, "related": related}
    )
