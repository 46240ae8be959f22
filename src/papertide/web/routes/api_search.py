"""JSON API of search and papers: ``/api/v1/search``, ``/api/v1/papers/{id}`` and ``.../similar``."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from papertide.domain.errors import InvalidQuery, InvalidRecord
from papertide.domain.identifiers import parse_arxiv_id
from papertide.domain.models import Hit, StoredPaper
from papertide.domain.query import MAX_QUERY_CHARS
from papertide.search.request import Mode, SearchRequest, SearchUnavailable, Sort
from papertide.store.papers import get_paper_by_arxiv_id
from papertide.web.deps import ConnDep, SettingsDep
from papertide.web.search_results import SearchDep, fetch_hit_papers

router = APIRouter(prefix="/api/v1", tags=["search"])
SIMILAR_DEFAULT = 10


class ProblemOut(BaseModel):
    """An error a client can show as is."""

    detail: str


class PaperDetail(BaseModel):
    """Everything stored about a paper."""

    arxiv_id: str
    version: int
    title: str
    abstract: str
    authors: list[str]
    categories: list[str]
    primary_category: str | None
    published: dt.date | None
    updated: dt.date | None
    listed_on: dt.date | None = Field(description="Day it was featured on a daily list, else the publication date.")
    doi: str | None
    journal_ref: str | None
    comments: str | None
    upvotes: int = Field(description="Imported upvotes plus community upvotes.")
    url: str = Field(description="The paper's page on this site.")
    abs_url: str | None
    pdf_url: str | None
    code_url: str | None


class SearchHitOut(BaseModel):
    """One result: the paper's main fields, its score and where its rank came from."""

    rank: int
    arxiv_id: str
    title: str
    abstract: str
    authors: list[str]
    categories: list[str]
    published: dt.date | None
    upvotes: int
    score: float = Field(description="Fused score in hybrid mode, BM25 or cosine similarity in the single modes.")
    ranks: dict[str, float] = Field(
        description="Per-engine ranks and scores, e.g. lexical_rank, semantic_rank (absent where it did not find it)."
    )
    url: str


class SearchOut(BaseModel):
    """One page of search results."""

    query: str
    parsed: str = Field(description="The query as understood, in canonical syntax.")
    mode: Mode = Field(description="The mode that ran: hybrid falls back to lexical when no model is available.")
    sort: Sort
    page: int
    per_page: int
    total: int = Field(description="Results that can be paged through.")
    total_exact: bool = Field(description="False when total is an upper bound (semantic and hybrid modes).")
    has_more: bool
    notices: list[str]
    results: list[SearchHitOut]


class SimilarOut(BaseModel):
    """Papers nearest in meaning to one paper."""

    arxiv_id: str
    results: list[SearchHitOut]


def _paper_url(base_url: str, arxiv_id: str) -> str:
    return f"{base_url.rstrip('/')}/papers/{arxiv_id}"


def _hit_out(rank: int, stored: StoredPaper, hit: Hit, base_url: str) -> SearchHitOut:
    paper = stored.paper
    return SearchHitOut(
        rank=rank,
        arxiv_id=paper.arxiv_id,
        title=paper.title,
        abstract=paper.abstract,
        authors=list(paper.authors),
        categories=list(paper.categories),
        published=paper.published,
        upvotes=stored.upvotes,
        score=round(hit.score, 6),
        ranks=dict(hit.detail),
        url=_paper_url(base_url, paper.arxiv_id),
    )


def _find(conn: ConnDep, arxiv_id: str) -> StoredPaper:
    try:
        key, _version = parse_arxiv_id(arxiv_id)
    except InvalidRecord:
        raise HTTPException(404, f"{arxiv_id!r} is not an arXiv identifier.") from None
    stored = get_paper_by_arxiv_id(conn, key)
    if stored is None:
        raise HTTPException(404, f"No paper {key} in this collection.")
    return stored


BAD_QUERY: dict[int | str, dict[str, Any]] = {
    400: {"model": ProblemOut, "description": "Invalid query syntax or paging; `detail` says what."}
}
UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {"model": ProblemOut, "description": "Semantic search asked for but no model is available."}
}


@router.get("/search", response_model=SearchOut, responses={**BAD_QUERY, **UNAVAILABLE})
def search_api(
    conn: ConnDep,
    settings: SettingsDep,
    search: SearchDep,
    q: Annotated[
        str,
        Query(
            max_length=MAX_QUERY_CHARS,
            description='Free text, "phrases", author:"Name", cat:cs.LG, since:2025-01-01, until:2025-12-31.',
        ),
    ],
    mode: Mode = "hybrid",
    sort: Sort = "relevance",
    page: Annotated[int, Query(ge=1, le=1000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = 20,
) -> SearchOut | JSONResponse:
    """Search papers by meaning and by words."""
    try:
        result = search.search(SearchRequest(text=q, mode=mode, sort=sort, page=page, per_page=per_page))
    except InvalidQuery as problem:
        return JSONResponse({"detail": str(problem)}, status_code=400)
    except SearchUnavailable as problem:
        return JSONResponse({"detail": str(problem)}, status_code=503)
    offset = (page - 1) * per_page
    results = [
        _hit_out(offset + rank, stored, hit, settings.base_url)
        for rank, (stored, hit) in enumerate(fetch_hit_papers(conn, result.hits), start=1)
    ]
    return SearchOut(
        query=q,
        parsed=result.query.describe(),
        mode=result.mode,
        sort=sort,
        page=page,
        per_page=per_page,
        total=result.total,
        total_exact=result.total_exact,
        has_more=result.has_more,
        notices=result.notices,
        results=results,
    )


@router.get("/papers/{arxiv_id:path}/similar", response_model=SimilarOut, responses={404: {"model": ProblemOut}})
def read_similar_papers(
    conn: ConnDep,
    settings: SettingsDep,
    search: SearchDep,
    arxiv_id: str,
    limit: Annotated[int, Query(ge=1, le=100)] = SIMILAR_DEFAULT,
) -> SimilarOut:
    """Papers nearest in meaning to one paper (by shared words when it has no embedding yet)."""
    stored = _find(conn, arxiv_id)
    hits = search.similar(stored.id, limit)
    results = [
        _hit_out(rank, other, hit, settings.base_url)
        for rank, (other, hit) in enumerate(fetch_hit_papers(conn, hits), start=1)
    ]
    return SimilarOut(arxiv_id=stored.paper.arxiv_id, results=results)


@router.get("/papers/{arxiv_id:path}", response_model=PaperDetail, responses={404: {"model": ProblemOut}})
def read_paper_api(conn: ConnDep, settings: SettingsDep, arxiv_id: str) -> PaperDetail:
    """One paper by arXiv id (with or without version, old or new style)."""
    stored = _find(conn, arxiv_id)
    paper = stored.paper
    return PaperDetail(
        arxiv_id=paper.arxiv_id,
        version=paper.version,
        title=paper.title,
        abstract=paper.abstract,
        authors=list(paper.authors),
        categories=list(paper.categories),
        primary_category=paper.primary_category,
        published=paper.published,
        updated=paper.updated,
        listed_on=paper.listing_date,
        doi=paper.doi,
        journal_ref=paper.journal_ref,
        comments=paper.comments,
        upvotes=stored.upvotes,
        url=_paper_url(settings.base_url, paper.arxiv_id),
        abs_url=paper.abs_url,
        pdf_url=paper.pdf_url,
        code_url=paper.code_url,
    )
