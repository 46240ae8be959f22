"""The papers of a day, an ISO week or a month, most upvoted first (trending now: store/trending.py).

A paper belongs to the day it was listed (featured on a daily list), else the day it was
published. Previous/next links skip periods without papers, so they never lead to an empty page.
Every query here is answered from the ``ix_papers_listing_date`` index, which carries the
upvotes; full paper rows are read only for the page shown.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Connection, func, select

from papertide.domain.models import StoredPaper
from papertide.domain.periods import Period, PeriodKind, period_containing
from papertide.store.papers import get_papers
from papertide.store.schema import papers


def listing_date() -> ColumnElement[dt.date]:
    """A paper's listing day in SQL; must stay the expression of ix_papers_listing_date."""
    return func.coalesce(papers.c.listed_on, papers.c.published)


@dataclass(frozen=True, slots=True)
class RankedPaper:
    """A paper at its place in a list, with the score that put it there."""

    rank: int
    item: StoredPaper
    score: float


@dataclass(frozen=True, slots=True)
class PeriodList:
    """One page of a day's, week's or month's papers, most upvoted first."""

    period: Period
    papers: list[RankedPaper]
    total: int
    previous: Period | None
    next: Period | None


def latest_listing_date(conn: Connection, *, on_or_before: dt.date) -> dt.date | None:
    """The latest day on or before the given one that has papers."""
    listing = listing_date()
    return conn.execute(select(func.max(listing)).where(listing <= on_or_before)).scalar_one_or_none()


def earliest_listing_date(conn: Connection, *, on_or_after: dt.date) -> dt.date | None:
    """The earliest day on or after the given one that has papers."""
    listing = listing_date()
    return conn.execute(select(func.min(listing)).where(listing >= on_or_after)).scalar_one_or_none()


def count_listed(conn: Connection, since: dt.date, until: dt.date) -> int:
    """Papers listed between the two days, both included."""
    listing = listing_date()
    statement = select(func.count()).select_from(papers).where(listing >= since, listing <= until)
    return int(conn.execute(statement).scalar_one())


def neighbour_periods(conn: Connection, period: Period) -> tuple[Period | None, Period | None]:
    """The nearest earlier and later periods of the same kind that have papers."""
    kind: PeriodKind = period.kind
    before = (
        latest_listing_date(conn, on_or_before=period.start - dt.timedelta(days=1))
        if period.start > dt.date.min
        else None
    )
    after = (
        earliest_listing_date(conn, on_or_after=period.end + dt.timedelta(days=1)) if period.end < dt.date.max else None
    )
    return (
        period_containing(kind, before) if before else None,
        period_containing(kind, after) if after else None,
    )


def list_period_ids(conn: Connection, since: dt.date, until: dt.date, *, limit: int, offset: int = 0) -> list[int]:
    """Ids of a page of the papers listed between two days: most upvotes, then latest listing, then id."""
    listing = listing_date()
    total = papers.c.external_upvotes + papers.c.community_upvotes
    statement = (
        select(papers.c.id)
        .where(listing >= since, listing <= until)
        .order_by(total.desc(), listing.desc(), papers.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [int(paper_id) for paper_id in conn.execute(statement).scalars()]


def read_period_list(conn: Connection, period: Period, *, limit: int, offset: int = 0) -> PeriodList:
    """A page of the period's papers, most upvoted first, with the neighbouring periods."""
    items = get_papers(conn, list_period_ids(conn, period.start, period.end, limit=limit, offset=offset))
    ranked = [RankedPaper(rank=offset + n, item=item, score=float(item.upvotes)) for n, item in enumerate(items, 1)]
    previous, following = neighbour_periods(conn, period)
    total = count_listed(conn, period.start, period.end)
    return PeriodList(period=period, papers=ranked, total=total, previous=previous, next=following)


def read_default_period(conn: Connection, kind: PeriodKind, today: dt.date) -> Period:
    """The period a reader most likely wants when they name none: the latest one with papers.

    That is the current period when it has papers; when it has none (a weekend, a collection
    last updated months ago) it is the period of the latest day with papers; today's period
    when nothing was ever listed.
    """
    latest = latest_listing_date(conn, on_or_before=today)
    return period_containing(kind, latest or today)
