"""``GET /api/v1/search``: search papers by meaning and by words, as JSON."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from papertide.domain.errors import InvalidQuery
from papertide.domain.query import MAX_QUERY_CHARS
from papertide.search.request import Mode, SearchRequest, SearchUnavailable, Sort
from papertide.web.deps import ConnDep, SearchDep, SettingsDep
from papertide.web.error_model import problem_json
from papertide.web.paper_lookup import fetch_hit_papers
from papertide.web.routes.api.models import SearchHitOut, compose_hit_out

router = APIRouter(tags=["search"])


class SearchOut(BaseModel):
    """One page of search results."""

    query: str
    parsed: str = Field(description="The query as understood, in canonical syntax.")
    mode: Mode = Field(description="The mode that ran: hybrid falls back to lexical when no model is available.")
    sort: Sort = Field(
        description="The order used: a query of filters only (e.g. author:) has no relevance and lists newest first."
    )
    page: int
    per_page: int
    total: int = Field(
        description="Results that exist and can be paged through: papers containing the words plus papers close "
        "in meaning above the similarity floor, at most the pageable limit (search_max_results)."
    )
    total_exact: bool = Field(
        description="False when total is a lower bound: more papers match than can be paged, or a broad filter's "
        "semantic side was not counted to the end."
    )
    has_more: bool
    notices: list[str]
    results: list[SearchHitOut]


@router.get("/search", response_model=SearchOut)
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
        return problem_json(400, str(problem))
    except SearchUnavailable as problem:
        return problem_json(503, str(problem))
    offset = (page - 1) * per_page
    results = [
        compose_hit_out(offset + rank, stored, hit, settings.base_url, result.query.authors)
        for rank, (stored, hit) in enumerate(fetch_hit_papers(conn, result.hits), start=1)
    ]
    return SearchOut(
        query=q,
        parsed=result.query.describe(),
        mode=result.mode,
        sort=result.sort,
        page=page,
        per_page=per_page,
        total=result.total,
        total_exact=result.total_exact,
        has_more=result.has_more,
        notices=result.notices,
        results=results,
    )
