"""arXiv category lists (issue 11): ``/categories/{category}``, newest papers first, and its Atom feed."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response

from papertide.domain.categories import parse_category
from papertide.domain.errors import InvalidInput
from papertide.domain.models import StoredPaper
from papertide.store.categories import CategorySize, count_category_papers, list_category_paper_ids
from papertide.store.papers import get_papers
from papertide.web.clock import NowDep
from papertide.web.deps import ConnDep, ServicesDep, TemplatesDep
from papertide.web.error_model import COMMON_STATUSES, documented
from papertide.web.page_cards import expect_cards
from papertide.web.paper_feeds import ATOM_TYPE, compose_papers_feed

router = APIRouter()
PAPERS_PER_PAGE = 30
FEED_SIZE = 50


def _read(conn: ConnDep, category: str, *, limit: int, offset: int) -> tuple[str, list[StoredPaper], CategorySize]:
    """The checked name, the papers of one page and the category's (bounded) size; 404 for a bad or empty name."""
    try:
        name = parse_category(category)
    except InvalidInput as error:
        raise HTTPException(404, f"{error.reason[:1].upper()}{error.reason[1:]}.") from None
    size = count_category_papers(conn, name)
    if size.papers == 0:
        raise HTTPException(404, f"No paper in the category {name} is stored here.")
    ids = list_category_paper_ids(conn, name, limit=limit + 1, offset=offset)
    by_id = {stored.id: stored for stored in get_papers(conn, ids)}
    return name, [by_id[paper_id] for paper_id in ids if paper_id in by_id], size


@router.get("/categories/{category}", response_class=HTMLResponse, include_in_schema=False)
def read_category(
    request: Request,
    category: str,
    conn: ConnDep,
    templates: TemplatesDep,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> HTMLResponse:
    """The papers of one arXiv category, newest publication first."""
    name, papers, size = _read(conn, category, limit=PAPERS_PER_PAGE, offset=(page - 1) * PAPERS_PER_PAGE)
    shown = papers[:PAPERS_PER_PAGE]
    expect_cards(request, [stored.id for stored in shown])
    context = {
        "category": name,
        "papers": shown,
        "total": size.papers,
        "more": size.more,
        "page": page,
        # One paper past the page was asked for: its presence is the next page's, whatever the count bound.
        "has_next": len(papers) > PAPERS_PER_PAGE,
    }
    return templates.TemplateResponse(request, "category.html", context)


@router.get(
    "/categories/{category}/feed.atom",
    tags=["feeds"],
    response_class=Response,
    responses=documented(*COMMON_STATUSES, 404),
)
def read_category_feed(category: str, conn: ConnDep, services: ServicesDep, now: NowDep) -> Response:
    """The newest papers of one arXiv category as an Atom feed."""
    name, papers, _size = _read(conn, category, limit=FEED_SIZE, offset=0)
    feed = compose_papers_feed(
        papers[:FEED_SIZE],
        base_url=services.settings.base_url,
        path=f"/categories/{name}",
        title=f"{services.settings.site_name}: {name}",
        now=now,
    )
    return Response(feed, media_type=ATOM_TYPE)
