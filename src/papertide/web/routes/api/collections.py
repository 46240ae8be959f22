"""The collections API under ``/api/v1/collections`` (issue 11).

Reading needs nothing for public collections; a private one is a 404 to all but its owner.
Changes are POSTs from a signed-in session carrying the CSRF token in ``X-CSRF-Token`` (the
same rules as the pages: docs/community.md), answered with the changed collection.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from papertide.services import Services
from papertide.web.deps import ConnDep, ServicesDep
from papertide.web.error_model import documented
from papertide.web.paper_lookup import fetch_paper
from papertide.web.routes.api.community_models import (
    CollectionDetailOut,
    CollectionOut,
    compose_collection,
    compose_collection_detail,
)
from papertide.web.row_ids import RowIdPath
from papertide.web.security import CsrfDep, OptionalUserDep, UserDep

router = APIRouter(tags=["collections"])
ERRORS = documented(401, 403, 404, 429)


class CollectionIn(BaseModel):
    """A new collection."""

    title: str = Field(max_length=1000)
    description: str = Field(default="", max_length=10_000)
    is_public: bool = False


class CollectionChangeIn(BaseModel):
    """The fields to change; those left out stay as they are."""

    title: str | None = Field(default=None, max_length=1000)
    description: str | None = Field(default=None, max_length=10_000)
    is_public: bool | None = None


class PaperIn(BaseModel):
    """A paper to add, with an optional note."""

    arxiv_id: str = Field(max_length=100)
    note: str = Field(default="", max_length=10_000)


class PaperRef(BaseModel):
    """A paper of the collection."""

    arxiv_id: str = Field(max_length=100)


class OrderIn(BaseModel):
    """The collection's papers in their new order, each exactly once."""

    arxiv_ids: list[str] = Field(max_length=2000)


def _detail(services: Services, collection_id: int, viewer: int | None, limit: int, offset: int) -> CollectionDetailOut:
    collection = services.collections.read(collection_id, viewer)
    items = services.collections.read_items(collection_id, viewer, limit=limit, offset=offset)
    return compose_collection_detail(collection, items, services.settings.base_url)


@router.get("/collections", responses=ERRORS)
def list_collections(
    services: ServicesDep,
    user: OptionalUserDep,
    owner: Annotated[
        str | None, Query(max_length=60, description="A member's handle: their public collections.")
    ] = None,
    mine: Annotated[bool, Query(description="The signed-in member's collections, private ones too.")] = False,
    limit: Annotated[int, Query(ge=1, le=100)] = 30,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> list[CollectionOut]:
    """Public collections (most recently changed first), one member's, or your own."""
    base = services.settings.base_url
    viewer = user.id if user is not None else None
    if mine:
        if user is None:
            return []
        found = services.collections.list_for_member(user.id, user.id)[offset : offset + limit]
    elif owner:
        member = services.members.get_by_handle(owner)
        found = services.collections.list_for_member(member.id, viewer)[offset : offset + limit]
    else:
        found = services.collections.list_public(limit=limit, offset=offset)
    return [compose_collection(collection, base) for collection in found]


@router.post("/collections", status_code=201, responses=ERRORS)
def create_collection(body: CollectionIn, _csrf: CsrfDep, user: UserDep, services: ServicesDep) -> CollectionOut:
    """Create a collection (private unless ``is_public``)."""
    collection = services.collections.create(
        user.id, body.title, description=body.description, is_public=body.is_public
    )
    return compose_collection(collection, services.settings.base_url)


@router.get("/collections/{collection_id}", responses=ERRORS)
def read_collection(
    collection_id: RowIdPath,
    services: ServicesDep,
    user: OptionalUserDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> CollectionDetailOut:
    """A collection and its papers in order, with notes."""
    return _detail(services, collection_id, user.id if user else None, limit, offset)


@router.post("/collections/{collection_id}", responses=ERRORS)
def update_collection(
    collection_id: RowIdPath, body: CollectionChangeIn, _csrf: CsrfDep, user: UserDep, services: ServicesDep
) -> CollectionOut:
    """Change the title, description or visibility of your collection (the slug stays)."""
    collection = services.collections.update(
        user.id, collection_id, title=body.title, description=body.description, is_public=body.is_public
    )
    return compose_collection(collection, services.settings.base_url)


@router.post("/collections/{collection_id}/delete", status_code=204, responses=ERRORS)
def delete_collection(collection_id: RowIdPath, _csrf: CsrfDep, user: UserDep, services: ServicesDep) -> None:
    """Delete your collection (the papers stay)."""
    services.collections.delete(user.id, collection_id)


@router.post("/collections/{collection_id}/papers", responses=ERRORS)
def add_paper(
    collection_id: RowIdPath, body: PaperIn, _csrf: CsrfDep, user: UserDep, conn: ConnDep, services: ServicesDep
) -> CollectionDetailOut:
    """Append a paper (a paper already there keeps its place and note)."""
    paper = fetch_paper(conn, body.arxiv_id)
    services.collections.add_paper(user.id, collection_id, paper.id, note=body.note)
    return _detail(services, collection_id, user.id, 1000, 0)


@router.post("/collections/{collection_id}/papers/remove", responses=ERRORS)
def remove_paper(
    collection_id: RowIdPath, body: PaperRef, _csrf: CsrfDep, user: UserDep, conn: ConnDep, services: ServicesDep
) -> CollectionDetailOut:
    """Take a paper out of your collection."""
    paper = fetch_paper(conn, body.arxiv_id)
    services.collections.remove_paper(user.id, collection_id, paper.id)
    return _detail(services, collection_id, user.id, 1000, 0)


@router.post("/collections/{collection_id}/order", responses=ERRORS)
def reorder(
    collection_id: RowIdPath, body: OrderIn, _csrf: CsrfDep, user: UserDep, conn: ConnDep, services: ServicesDep
) -> CollectionDetailOut:
    """Put the papers in this order; the list must name each of them exactly once."""
    ids = [fetch_paper(conn, arxiv_id).id for arxiv_id in body.arxiv_ids]
    services.collections.reorder(user.id, collection_id, ids)
    return _detail(services, collection_id, user.id, 1000, 0)
