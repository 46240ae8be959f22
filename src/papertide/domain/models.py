"""The shared vocabulary of papertide: plain frozen dataclasses, no I/O.

Every layer speaks in these types so that storage, search, ingestion and the
web never pass database rows or framework objects to each other.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Paper:
    """One paper, keyed by its arXiv id without version (``2405.15738``, ``math/0601001``)."""

    arxiv_id: str
    title: str
    abstract: str
    authors: tuple[str, ...] = ()
    version: int = 1
    categories: tuple[str, ...] = ()
    primary_category: str | None = None
    published: dt.date | None = None
    updated: dt.date | None = None
    doi: str | None = None
    journal_ref: str | None = None
    comments: str | None = None
    abs_url: str | None = None
    pdf_url: str | None = None
    code_url: str | None = None
    # The day the paper was listed on a trending list (Hugging Face daily papers);
    # defaults to the publication date for papers that never were.
    listed_on: dt.date | None = None
    # Upvotes imported from an external source (Hugging Face); community votes are counted apart.
    external_upvotes: int = 0

    @property
    def listing_date(self) -> dt.date | None:
        """The date a paper belongs to in the daily / weekly / monthly lists."""
        return self.listed_on or self.published


@dataclass(frozen=True, slots=True)
class Signal:
    """Counts an external source reported for a paper on one listing date.

    Hugging Face also says who submitted the paper there, its thumbnail, the GitHub stars of its
    repository and its project page (issue 11); other sources leave those empty.
    """

    arxiv_id: str
    source: str
    listed_on: dt.date
    upvotes: int = 0
    comments: int = 0
    submitted_by: str | None = None
    thumbnail_url: str | None = None
    github_stars: int | None = None
    project_page: str | None = None


@dataclass(frozen=True, slots=True)
class StoredPaper:
    """A paper as stored, with the store's bookkeeping beside the domain fields."""

    id: int
    paper: Paper
    community_upvotes: int = 0
    created_at: dt.datetime | None = None
    changed_at: dt.datetime | None = None

    @property
    def upvotes(self) -> int:
        """All upvotes a reader sees: imported ones plus community votes."""
        return self.paper.external_upvotes + self.community_upvotes


@dataclass(frozen=True, slots=True)
class Hit:
    """One search result: an id and a score, filled in with paper details by the caller."""

    paper_id: int
    score: float
    # Per-engine ranks or scores, kept for --explain and debugging.
    detail: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class UpsertReport:
    """What an upsert of a batch of papers did."""

    new: int = 0
    updated: int = 0
    unchanged: int = 0
    changed_ids: tuple[int, ...] = ()

    def __add__(self, other: UpsertReport) -> UpsertReport:
        return UpsertReport(
            new=self.new + other.new,
            updated=self.updated + other.updated,
            unchanged=self.unchanged + other.unchanged,
            changed_ids=self.changed_ids + other.changed_ids,
        )
