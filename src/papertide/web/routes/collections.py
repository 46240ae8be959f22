"""Collections as pages and forms (issue 11): ``/collections``, ``/collections/{id}`` and its feed.

A collection's address is ``/collections/{id}`` (decision: the id never changes, while a
member may change their handle); ``/u/{handle}/collections/{slug}`` leads there too
(routes/members.py). Every change is a CSRF-protected form POST that answers with a redirect,
so everything works without JavaScript; up/down buttons reorder. A private collection is a 404
to everyone but its owner, and changing another member's collection is a 403 (services:
community/collections.py).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from papertide.domain.collections import Collection
from papertide.web.clock import NowDep
from papertide.web.deps import ConnDep, ServicesDep, TemplatesDep
from papertide.web.error_model import COMMON_STATUSES, documented
from papertide.web.page_cards import expect_cards
from papertide.web.paper_feeds import ATOM_TYPE, compose_papers_feed
from papertide.web.paper_lookup import fetch_paper
from papertide.web.row_ids import RowIdForm, RowIdPath
from papertide.web.security import CsrfDep, OptionalUserDep, UserDep, parse_local_url

router = APIRouter()
ITEMS_PER_PAGE = 100
FEED_SIZE = 50
PageQuery = Annotated[int, Query(ge=1, le=1000)]
NextField = Annotated[str | None, Form(max_length=600)]
TitleField = Annotated[str, Form(max_length=1000)]
TextField = Annotated[str, Form(max_length=10_000)]


def collection_path(collection: Collection) -> str:
    """The page of a collection."""
    return f"/collections/{collection.id}"


def _back(next_url: str | None, default: str) -> RedirectResponse:
    return RedirectResponse(parse_local_url(next_url, default), status_code=303)


@router.get("/collections", response_class=HTMLResponse, include_in_schema=False)
def read_collections(
    request: Request, services: ServicesDep, templates: TemplatesDep, user: OptionalUserDep, page: PageQuery = 1
) -> HTMLResponse:
    """Public collections, most recently changed first; a signed-in member's own above them."""
    size = 30
    public = services.collections.list_public(limit=size + 1, offset=(page - 1) * size)
    mine = services.collections.list_for_member(user.id, user.id) if user is not None else []
    context = {"public": public[:size], "mine": mine, "page": page, "has_next": len(public) > size}
    return templates.TemplateResponse(request, "collections.html", context)


@router.get("/collections/{collection_id}", response_class=HTMLResponse, include_in_schema=False)
def read_collection(
    request: Request,
    collection_id: RowIdPath,
    services: ServicesDep,
    templates: TemplatesDep,
    user: OptionalUserDep,
    page: PageQuery = 1,
) -> HTMLResponse:
    """One collection's papers in order, with notes; its owner also gets the editing forms."""
    viewer = user.id if user is not None else None
    collection = services.collections.read(collection_id, viewer)
    items = services.collections.read_items(
        collection_id, viewer, limit=ITEMS_PER_PAGE, offset=(page - 1) * ITEMS_PER_PAGE
    )
    expect_cards(request, [entry.paper.id for entry in items])
    context = {
        "collection": collection,
        "items": items,
        "is_owner": viewer == collection.owner_id,
        "page": page,
        "has_next": collection.paper_count > page * ITEMS_PER_PAGE,
        "first_position": (page - 1) * ITEMS_PER_PAGE,
    }
    headers = {} if collection.is_public else {"Cache-Control": "private, no-store"}
    return templates.TemplateResponse(request, "collection.html", context, headers=headers)


@router.get(
    "/collections/{collection_id}/feed.atom",
    tags=["feeds"],
    response_class=Response,
    responses=documented(*COMMON_STATUSES, 404),
)
def read_collection_feed(collection_id: RowIdPath, services: ServicesDep, now: NowDep) -> Response:
    """A public collection's papers as an Atom feed, in the collection's order, with the notes."""
    collection = services.collections.read(collection_id, None)
    items = services.collections.read_items(collection_id, None, limit=FEED_SIZE)
    feed = compose_papers_feed(
        [item.paper for item in items],
        base_url=services.settings.base_url,
        path=collection_path(collection),
        title=f"{services.settings.site_name}: {collection.title}",
        subtitle=collection.description,
        notes={item.paper.id: item.note for item in items},
        now=now,
    )
    return Response(feed, media_type=ATOM_TYPE)


# --- forms ------------------------------------------------------------------------------------


@router.post("/collections", include_in_schema=False)
def create_collection(
    _csrf: CsrfDep,
    user: UserDep,
    conn: ConnDep,
    services: ServicesDep,
    title: TitleField,
    description: TextField = "",
    is_public: Annotated[bool, Form()] = False,
    arxiv_id: Annotated[str | None, Form(max_length=100)] = None,
    next: NextField = None,
) -> RedirectResponse:
    """Create a collection; with ``arxiv_id`` (the paper page's form) the paper goes in at once."""
    paper = fetch_paper(conn, arxiv_id) if arxiv_id else None
    collection = services.collections.create(user.id, title, description=description, is_public=is_public)
    if paper is not None:
        services.collections.add_paper(user.id, collection.id, paper.id)
    return _back(next if paper is not None else None, collection_path(collection))


@router.post("/collections/add", include_in_schema=False)
def add_to_collection(
    _csrf: CsrfDep,
    user: UserDep,
    conn: ConnDep,
    services: ServicesDep,
    collection_id: RowIdForm,
    arxiv_id: Annotated[str, Form(max_length=100)],
    note: TextField = "",
    next: NextField = None,
) -> RedirectResponse:
    """Add a paper to one of your collections (the form on paper pages and search results)."""
    paper = fetch_paper(conn, arxiv_id)
    services.collections.add_paper(user.id, collection_id, paper.id, note=note)
    return _back(next, f"/collections/{collection_id}")


@router.post("/collections/{collection_id}/edit", include_in_schema=False)
def update_collection(
    collection_id: RowIdPath,
    _csrf: CsrfDep,
    user: UserDep,
    services: ServicesDep,
    title: TitleField,
    description: TextField = "",
    is_public: Annotated[bool, Form()] = False,
) -> RedirectResponse:
    """Rename, describe, publish or hide one's collection."""
    collection = services.collections.update(
        user.id, collection_id, title=title, description=description, is_public=is_public
    )
    return _back(None, collection_path(collection))


@router.post("/collections/{collection_id}/delete", include_in_schema=False)
def delete_collection(
    collection_id: RowIdPath, _csrf: CsrfDep, user: UserDep, services: ServicesDep
) -> RedirectResponse:
    """Delete one's collection (the papers stay in papertide)."""
    services.collections.delete(user.id, collection_id)
    return _back(None, "/collections")


@router.post("/collections/{collection_id}/papers/{paper_id}/remove", include_in_schema=False)
def remove_from_collection(
    collection_id: RowIdPath,
    paper_id: RowIdPath,
    _csrf: CsrfDep,
    user: UserDep,
    services: ServicesDep,
    next: NextField = None,
) -> RedirectResponse:
    """Take a paper out of one's collection."""
    services.collections.remove_paper(user.id, collection_id, paper_id)
    return _back(next, f"/collections/{collection_id}")


@router.post("/collections/{collection_id}/papers/{paper_id}/move", include_in_schema=False)
def move_in_collection(
    collection_id: RowIdPath,
    paper_id: RowIdPath,
    _csrf: CsrfDep,
    user: UserDep,
    services: ServicesDep,
    position: Annotated[int, Form(ge=0, le=100_000)],
    direction: Annotated[Literal["up", "down"], Form()],
) -> RedirectResponse:
    """Move a paper one place up or down (``position`` is where it is now, 0 first)."""
    target = position - 1 if direction == "up" else position + 1
    services.collections.move_paper(user.id, collection_id, paper_id, max(0, target))
    return _back(None, f"/collections/{collection_id}#item-{paper_id}")


@router.post("/collections/{collection_id}/papers/{paper_id}/note", include_in_schema=False)
def write_collection_note(
    collection_id: RowIdPath,
    paper_id: RowIdPath,
    _csrf: CsrfDep,
    user: UserDep,
    services: ServicesDep,
    note: TextField = "",
) -> RedirectResponse:
    """Replace the note on a paper of one's collection ("" removes it)."""
    services.collections.write_note(user.id, collection_id, paper_id, note)
    return _back(None, f"/collections/{collection_id}#item-{paper_id}")
