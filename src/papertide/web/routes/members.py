"""Member pages (issue 11): ``/u/{handle}``, the Atom feed of their submissions, and
``/u/{handle}/collections/{slug}``, which leads to the collection's lasting address.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from papertide.web.clock import NowDep
from papertide.web.deps import ServicesDep, TemplatesDep
from papertide.web.error_model import COMMON_STATUSES, documented
from papertide.web.page_cards import expect_cards
from papertide.web.paper_feeds import ATOM_TYPE, compose_papers_feed
from papertide.web.security import OptionalUserDep

router = APIRouter()
FEED_SIZE = 50


@router.get("/u/{handle}", response_class=HTMLResponse, include_in_schema=False)
def read_member(request: Request, handle: str, services: ServicesDep, templates: TemplatesDep) -> HTMLResponse:
    """A member's submissions, public collections and recent comments."""
    member_page = services.members.read_page(handle[:60])
    expect_cards(request, [submission.paper_id for submission in member_page.submissions])
    return templates.TemplateResponse(request, "member.html", {"profile": member_page})


@router.get(
    "/u/{handle}/feed.atom", tags=["feeds"], response_class=Response, responses=documented(*COMMON_STATUSES, 404)
)
def read_member_feed(handle: str, services: ServicesDep, now: NowDep) -> Response:
    """The papers a member submitted, newest submission first, as an Atom feed."""
    member_page = services.members.read_page(handle[:60], limit=FEED_SIZE)
    member = member_page.member
    papers = [member_page.papers[s.paper_id] for s in member_page.submissions if s.paper_id in member_page.papers]
    feed = compose_papers_feed(
        papers,
        base_url=services.settings.base_url,
        path=f"/u/{member.handle}",
        title=f"{services.settings.site_name}: papers submitted by {member.display_name or member.handle}",
        now=now,
    )
    return Response(feed, media_type=ATOM_TYPE)


@router.get("/u/{handle}/collections/{slug}", include_in_schema=False)
def read_member_collection(handle: str, slug: str, services: ServicesDep, user: OptionalUserDep) -> RedirectResponse:
    """A collection by its owner's handle and slug: redirects to ``/collections/{id}``."""
    collection = services.collections.read_by_slug(handle[:60], slug[:100], user.id if user else None)
    return RedirectResponse(f"/collections/{collection.id}", status_code=302)
