"""The lists readers browse: trending now, and the papers of a day, an ISO week or a month.

A paper belongs to the day it was listed (featured on a daily list), else the day it was
published. Period lists are ordered by upvotes like the model site; "trending now" by the
decayed score of ``domain.trending``. Previous/next links skip periods without papers, so
they never lead to an empty page.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Connection, func, select

from papertide.domain.models import StoredPaper
from papertide.domain.periods import Period, PeriodKind, period_containing
from papertide.domain.trending import TrendingCandidate, TrendingWindow, score_trending, select_trending_window
from papertide.store.papers import get_papers, list_by_upvotes
from papertide.store.schema import papers


def _listing_date() -> ColumnElement[dt.date]:
    # Must stay the same expression as the ix_papers_listing_date index for the index to be used.
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


@dataclass(frozen=True, slots=True)
class TrendingList:
    """One page of "trending now"; ``window`` says which days competed and at what instant."""

    window: TrendingWindow
    papers: list[RankedPaper]
    total: int


def latest_listing_date(conn: Connection, *, on_or_before: dt.date) -> dt.date | None:
    """The latest day on or before the given one that has papers."""
    listing = _listing_date()
    return conn.execute(select(func.max(listing)).where(listing <= on_or_before)).scalar_one_or_none()


def earliest_listing_date(conn: Connection, *, on_or_after: dt.date) -> dt.date | None:
    """The earliest day on or after the given one that has papers."""
    listing = _listing_date()
    return conn.execute(select(func.min(listing)).where(listing >= on_or_after)).scalar_one_or_none()


def count_listed(conn: Connection, since: dt.date, until: dt.date) -> int:
    """Papers listed between the two days, both included."""
    listing = _listing_date()
    statement = select(func.count()).select_from(papers).where(listing >= since, listing <= until)
    return int(conn.execute(statement).scalar_one())


def list_trending_candidates(conn: Connection, since: dt.date, until: dt.date) -> list[TrendingCandidate]:
    """Id, total upvotes and listing date of every paper listed between the two days."""
    listing = _listing_date()
    rows = conn.execute(
        select(papers.c.id, papers.c.external_upvotes + papers.c.community_upvotes, listing).where(
            listing >= since, listing <= until
        )
    )
    return [TrendingCandidate(paper_id=row[0], upvotes=int(row[1]), listed_on=row[2]) for row in rows]


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


def read_period_list(conn: Connection, period: Period, *, limit: int, offset: int = 0) -> PeriodList:
    """A page of the period's papers, most upvoted first, with the neighbouring periods."""
    items = list_by_upvotes(conn, limit=limit, offset=offset, since=period.start, until=period.end)
    ranked = [RankedPaper(rank=offset + n, item=item, score=float(item.upvotes)) for n, item in enumerate(items, 1)]
    previous, following = neighbour_periods(conn, period)
    total = count_listed(conn, period.start, period.end)
    return PeriodList(period=period, papers=ranked, total=total, previous=previous, next=following)


def read_trending_now(
    conn: Connection,
    *,
    now: dt.datetime,
    zone: dt.tzinfo,
    window_days: int,
    gravity: float,
    offset_hours: float,
    limit: int,
    offset: int = 0,
) -> TrendingList:
    """A page of trending now: the recent window's papers by decayed score.

    When nothing was listed in the recent window (a collection that is not updated daily,
    such as the bundled sample), the window ends on the latest day that has papers instead,
    scored as of the end of that day; ``window.is_fallback`` tells the reader.
    """
    today = now.astimezone(zone).date()
    window = select_trending_window(
        now, zone, window_days=window_days, latest_listed=latest_listing_date(conn, on_or_before=today)
    )
    candidates = list_trending_candidates(conn, window.since, window.until)
    hits = score_trending(candidates, now=window.as_of, zone=zone, gravity=gravity, offset_hours=offset_hours)
    page = hits[offset : offset + limit]
    stored = {item.id: item for item in get_papers(conn, [hit.paper_id for hit in page])}
    ranked = [
        RankedPaper(rank=offset + n, item=stored[hit.paper_id], score=hit.score)
        for n, hit in enumerate(page, 1)
        if hit.paper_id in stored
    ]
    return TrendingList(window=window, papers=ranked, total=len(hits))


def read_default_period(conn: Connection, kind: PeriodKind, today: dt.date) -> Period:
    """The period a reader most likely wants when they name none: the latest one with papers.

    That is the current period when it has papers; when it has none (a weekend, a collection
    last updated months ago) it is the period of the latest day with papers; today's period
    when nothing was ever listed.
    """
    latest = latest_listing_date(conn, on_or_before=today)
    return period_containing(kind, latest or today)
