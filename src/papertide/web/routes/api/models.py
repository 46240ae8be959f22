"""Response models more than one API resource answers with: a paper as a search hit (errors: web/problems.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from pydantic import BaseModel, Field

from papertide.domain.author_match import match_authors
from papertide.domain.models import Hit, StoredPaper


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
    matched_authors: list[str] = Field(
        default_factory=list, description="The authors the query's author: filters matched (empty without one)."
    )


def compose_paper_url(base_url: str, arxiv_id: str) -> str:
    """The paper's page on this site."""
    return f"{base_url.rstrip('/')}/papers/{arxiv_id}"


def compose_hit_out(
    rank: int, stored: StoredPaper, hit: Hit, base_url: str, author_filters: Sequence[str] = ()
) -> SearchHitOut:
    """A hit and its paper as the API answers it; ``author_filters`` are the query's author: values."""
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
        url=compose_paper_url(base_url, paper.arxiv_id),
        matched_authors=[paper.authors[i] for i in match_authors(paper.authors, author_filters)],
    )
