"""HTML pages: home and paper detail."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from papertide.domain.errors import InvalidRecord
from papertide.domain.identifiers import parse_arxiv_id
from papertide.store.papers import count_papers, get_paper_by_arxiv_id, list_by_upvotes
from papertide.web.deps import ConnDep, TemplatesDep

router = APIRouter()


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def read_home(request: Request, conn: ConnDep, templates: TemplatesDep) -> HTMLResponse:
    """Home: the most upvoted papers."""
    papers = list_by_upvotes(conn, limit=30)
    return templates.TemplateResponse(request, "home.html", {"papers": papers, "total": count_papers(conn)})


@router.get("/papers/{arxiv_id:path}", response_class=HTMLResponse, include_in_schema=False)
def read_paper(request: Request, arxiv_id: str, conn: ConnDep, templates: TemplatesDep) -> HTMLResponse:
    """One paper, by its arXiv id (a version suffix is ignored)."""
    try:
        key, _version = parse_arxiv_id(arxiv_id)
    except InvalidRecord:
        raise HTTPException(404, f"{arxiv_id!r} is not an arXiv identifier.") from None
    stored = get_paper_by_arxiv_id(conn, key)
    if stored is None:
        raise HTTPException(404, f"No paper {key} in this collection.")
    return templates.TemplateResponse(request, "paper.html", {"item": stored, "paper": stored.paper})
