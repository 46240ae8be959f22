"""Author pages (issue 11): ``/authors/{key}``, its Atom feed, and following an author.

The key is domain/authors.author_key of a written name, so one author's variants meet on one
page; when different first names share a key the page says so (NameForms.is_ambiguous).
Followed authors feed the member's digest (digest/plan.py reads store/follows).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from papertide.community.follows import AuthorPage
from papertide.services import Services
from papertide.web.clock import NowDep
from papertide.web.deps import ServicesDep, TemplatesDep
from papertide.web.error_model import COMMON_STATUSES, documented
from papertide.web.page_cards import expect_cards
from papertide.web.paper_feeds import ATOM_TYPE, compose_papers_feed
from papertide.web.security import CsrfDep, OptionalUserDep, UserDep, parse_local_url

router = APIRouter()
PAPERS_PER_PAGE = 30
FEED_SIZE = 50
KEY_MAX = 200


def read_author_page(services: Services, key: str, *, limit: int = PAPERS_PER_PAGE, offset: int = 0) -> AuthorPage:
    """An author's page of papers, or a 404 saying no stored paper has that author."""
    if not key or len(key) > KEY_MAX:
        raise HTTPException(404, "There is no author at this address.")
    return services.follows.read_author(key, limit=limit, offset=offset)


@router.get("/authors/{key}", response_class=HTMLResponse, include_in_schema=False)
def read_author(
    request: Request,
    key: str,
    services: ServicesDep,
    templates: TemplatesDep,
    user: OptionalUserDep,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> HTMLResponse:
    """An author's papers newest first, co-authors, the name forms and the follow button."""
    author = read_author_page(services, key, offset=(page - 1) * PAPERS_PER_PAGE)
    expect_cards(request, [stored.id for stored in author.papers])
    following = user is not None and services.follows.is_following(user.id, key)
    context = {
        "author": author,
        "following": following,
        "page": page,
        "has_next": author.total > page * PAPERS_PER_PAGE,
    }
    return templates.TemplateResponse(request, "author.html", context)


@router.get(
    "/authors/{key}/feed.atom", tags=["feeds"], response_class=Response, responses=documented(*COMMON_STATUSES, 404)
)
def read_author_feed(key: str, services: ServicesDep, now: NowDep) -> Response:
    """An author's newest papers as an Atom feed."""
    author = read_author_page(services, key, limit=FEED_SIZE)
    feed = compose_papers_feed(
        author.papers,
        base_url=services.settings.base_url,
        path=f"/authors/{key}",
        title=f"{services.settings.site_name}: papers by {author.names.display_name}",
        subtitle=author.names.describe(),
        now=now,
    )
    return Response(feed, media_type=ATOM_TYPE)


@router.post("/authors/{key}/follow", include_in_schema=False)
def follow_author(
    key: str,
    _csrf: CsrfDep,
    user: UserDep,
    services: ServicesDep,
    follow: Annotated[Literal["on", "off"], Form()] = "on",
    next: Annotated[str | None, Form(max_length=600)] = None,
) -> RedirectResponse:
    """Follow (``follow=on``) or stop following (``follow=off``) an author."""
    if not key or len(key) > KEY_MAX:
        raise HTTPException(404, "There is no author at this address.")
    if follow == "on":
        services.follows.follow(user.id, key)
    else:
        services.follows.unfollow(user.id, key)
    return RedirectResponse(parse_local_url(next, f"/authors/{key}"), status_code=303)
