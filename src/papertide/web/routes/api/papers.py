"""``GET /api/v1/papers/{arxiv_id}`` and ``.../similar``: one paper, and the papers nearest to it."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from papertide.domain.comments import CommentCounts
from papertide.store.comments import count_comments
from papertide.store.submissions import list_active_submissions
from papertide.web.deps import ConnDep, SearchDep, SettingsDep
from papertide.web.paper_lookup import fetch_hit_papers, fetch_paper
from papertide.web.routes.api.community import SubmitterOut, submitter_out
from papertide.web.routes.api.models import ProblemOut, SearchHitOut, compose_hit_out, compose_paper_url

router = APIRouter(tags=["search"])
SIMILAR_DEFAULT = 10


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
    submitted_by: SubmitterOut | None = Field(None, description="The member who put it on a daily list, if any.")
    comment_count: int = Field(0, description="Visible comments and replies on papertide.")
    hugging_face_comment_count: int = Field(0, description="Hugging Face's numComments, kept apart.")


class SimilarOut(BaseModel):
    """Papers nearest in meaning to one paper."""

    arxiv_id: str
    results: list[SearchHitOut]


# .../similar comes first: {arxiv_id:path} would take "2401.00001/similar" as an id.
@router.get("/papers/{arxiv_id:path}/similar", response_model=SimilarOut, responses={404: {"model": ProblemOut}})
def read_similar_papers(
    conn: ConnDep,
    settings: SettingsDep,
    search: SearchDep,
    arxiv_id: str,
    limit: Annotated[int, Query(ge=1, le=100)] = SIMILAR_DEFAULT,
) -> SimilarOut:
    """Papers nearest in meaning to one paper (by shared words when it has no embedding yet)."""
    stored = fetch_paper(conn, arxiv_id)
    hits = search.similar(stored.id, limit)
    results = [
        compose_hit_out(rank, other, hit, settings.base_url)
        for rank, (other, hit) in enumerate(fetch_hit_papers(conn, hits), start=1)
    ]
    return SimilarOut(arxiv_id=stored.paper.arxiv_id, results=results)


@router.get("/papers/{arxiv_id:path}", response_model=PaperDetail, responses={404: {"model": ProblemOut}})
def read_paper_api(conn: ConnDep, settings: SettingsDep, arxiv_id: str) -> PaperDetail:
    """One paper by arXiv id (with or without version, old or new style)."""
    stored = fetch_paper(conn, arxiv_id)
    paper = stored.paper
    submission = list_active_submissions(conn, [stored.id]).get(stored.id)
    counts = count_comments(conn, [stored.id]).get(stored.id, CommentCounts())
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
        url=compose_paper_url(settings.base_url, paper.arxiv_id),
        abs_url=paper.abs_url,
        pdf_url=paper.pdf_url,
        code_url=paper.code_url,
        submitted_by=submitter_out(submission),
        comment_count=counts.own,
        hugging_face_comment_count=counts.hugging_face,
    )
