"""``GET /api/v1/authors/{key}``: an author page as JSON (issue 11)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from papertide.web.deps import ServicesDep
from papertide.web.error_model import documented
from papertide.web.routes.api.community_models import PaperBriefOut, compose_paper_brief
from papertide.web.routes.authors import read_author_page

router = APIRouter(tags=["authors"])


class CoauthorOut(BaseModel):
    """Someone who wrote papers with the author."""

    key: str
    name: str
    papers: int = Field(description="Joint papers.")
    url: str


class AuthorOut(BaseModel):
    """An author page: name forms, whether they collide, papers newest first, co-authors."""

    key: str
    name: str
    forms: list[str] = Field(description="Every written form of the name found under this key.")
    ambiguous: bool = Field(description="True when different first names share the key: maybe several people.")
    notice: str
    total: int
    followers: int
    papers: list[PaperBriefOut]
    coauthors: list[CoauthorOut]
    url: str


@router.get("/authors/{key}", responses=documented(404))
def read_author(
    key: str,
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 30,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> AuthorOut:
    """An author's papers newest first (paged), co-authors and name forms."""
    author = read_author_page(services, key, limit=limit, offset=offset)
    base = services.settings.base_url.rstrip("/")
    return AuthorOut(
        key=author.key,
        name=author.names.display_name,
        forms=list(author.names.forms),
        ambiguous=author.names.is_ambiguous,
        notice=author.names.describe(),
        total=author.total,
        followers=author.followers,
        papers=[compose_paper_brief(stored, base) for stored in author.papers],
        coauthors=[
            CoauthorOut(key=c.author_key, name=c.name, papers=c.papers, url=f"{base}/authors/{c.author_key}")
            for c in author.coauthors
        ],
        url=f"{base}/authors/{author.key}",
    )
