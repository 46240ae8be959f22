"""Response models of the community API (issue 11): papers in short, collections, authors."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

from papertide.domain.collections import Collection, CollectionItem
from papertide.domain.models import StoredPaper
from papertide.web.routes.api.models import compose_paper_url


class PaperBriefOut(BaseModel):
    """A paper as lists show it."""

    arxiv_id: str
    title: str
    authors: list[str]
    categories: list[str]
    published: dt.date | None
    listed_on: dt.date | None
    upvotes: int
    url: str


class CollectionOut(BaseModel):
    """A collection's header."""

    id: int
    owner: str | None = Field(description="The owner's handle.")
    owner_name: str
    slug: str
    title: str
    description: str
    is_public: bool
    paper_count: int
    created_at: dt.datetime
    updated_at: dt.datetime
    url: str


class CollectionItemOut(BaseModel):
    """A paper at its place in a collection, with the owner's note."""

    position: int
    note: str
    added_at: dt.datetime
    paper: PaperBriefOut


class CollectionDetailOut(CollectionOut):
    """A collection with a page of its papers in order."""

    items: list[CollectionItemOut]


def compose_paper_brief(stored: StoredPaper, base_url: str) -> PaperBriefOut:
    """A stored paper in short."""
    paper = stored.paper
    return PaperBriefOut(
        arxiv_id=paper.arxiv_id,
        title=paper.title,
        authors=list(paper.authors),
        categories=list(paper.categories),
        published=paper.published,
        listed_on=paper.listing_date,
        upvotes=stored.upvotes,
        url=compose_paper_url(base_url, paper.arxiv_id),
    )


def compose_collection(collection: Collection, base_url: str) -> CollectionOut:
    """A collection's header as the API answers it."""
    return CollectionOut(
        id=collection.id,
        owner=collection.owner_handle,
        owner_name=collection.owner_name,
        slug=collection.slug,
        title=collection.title,
        description=collection.description,
        is_public=collection.is_public,
        paper_count=collection.paper_count,
        created_at=collection.created_at,
        updated_at=collection.updated_at,
        url=f"{base_url.rstrip('/')}/collections/{collection.id}",
    )


def compose_collection_detail(
    collection: Collection, items: list[CollectionItem], base_url: str
) -> CollectionDetailOut:
    """A collection with its papers."""
    return CollectionDetailOut(
        **compose_collection(collection, base_url).model_dump(),
        items=[
            CollectionItemOut(
                position=item.position,
                note=item.note,
                added_at=item.added_at,
                paper=compose_paper_brief(item.paper, base_url),
            )
            for item in items
        ],
    )
