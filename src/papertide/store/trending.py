"""Trending now: the recent window's papers by the decayed score of ``domain.trending``.

Only papers with at least one upvote need scoring; those without any score 0 and follow in
listing order, read straight from the index when a page reaches them. In a real collection most
papers never get a vote, so this keeps the scored set small however many papers a day brings.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, String, cast, func, select

from papertide.domain.models import Hit
from papertide.domain.trending import TrendingCandidate, TrendingWindow, score_trending, select_trending_window
from papertide.store.listings import RankedPaper, latest_listing_date, listing_date
from papertide.store.papers import get_papers
from papertide.store.schema import papers

_TOTAL = papers.c.external_upvotes + papers.c.community_upvotes


@dataclass(frozen=True, slots=True)
class TrendingList:
    """One page of "trending now"; ``window`` says which days competed and at what instant."""

    window: TrendingWindow
    papers: list[RankedPaper]
    total: int


def list_trending_candidates(
    conn: Connection, since: dt.date, until: dt.date, *, voted_only: bool = False
) -> list[TrendingCandidate]:
    """Id, total upvotes and listing day of the papers listed between two days (only voted ones if asked)."""
    listing = listing_date()
    statement = select(papers.c.id, _TOTAL, cast(listing, String)).where(listing >= since, listing <= until)
    if voted_only:
        statement = statement.where(_TOTAL > 0)
    # The day is read as ISO text and parsed once per distinct day: a window holds thousands of
    # papers but a few days, and converting every row's date was most of the time spent.
    days: dict[str, dt.date] = {}
    candidates = []
    for paper_id, upvotes, day in conn.execute(statement).all():
        listed = days.get(day)
        if listed is None:
            listed = days[day] = dt.date.fromisoformat(day[:10])
        candidates.append(TrendingCandidate(paper_id=int(paper_id), upvotes=int(upvotes), listed_on=listed))
    return candidates


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
    """A page of trending now.

    When nothing was listed in the recent window (a collection that is not updated daily,
    such as the bundled sample), the window ends on the latest day that has papers instead,
    scored as of the end of that day; ``window.is_fallback`` tells the reader.
    """
    today = now.astimezone(zone).date()
    window = select_trending_window(
        now, zone, window_days=window_days, latest_listed=latest_listing_date(conn, on_or_before=today)
    )
    voted = list_trending_candidates(conn, window.since, window.until, voted_only=True)
    hits = score_trending(
        voted, now=window.as_of, zone=zone, gravity=gravity, offset_hours=offset_hours, limit=offset + limit
    )[offset:]
    listing = listing_date()
    unvoted_where = (listing >= window.since, listing <= window.until, _TOTAL <= 0)
    unvoted = int(conn.execute(select(func.count()).select_from(papers).where(*unvoted_where)).scalar_one())
    if len(hits) < limit and unvoted:
        # Papers without votes all score 0: the tie order (later listing, then higher id) is the index's.
        start = max(0, offset - len(voted))
        rows = conn.execute(
            select(papers.c.id)
            .where(*unvoted_where)
            .order_by(listing.desc(), papers.c.id.desc())
            .limit(limit - len(hits))
            .offset(start)
        ).scalars()
        hits.extend(Hit(paper_id=int(paper_id), score=0.0) for paper_id in rows)
    stored = {item.id: item for item in get_papers(conn, [hit.paper_id for hit in hits])}
    ranked = [
        RankedPaper(rank=offset + n, item=stored[hit.paper_id], score=hit.score)
        for n, hit in enumerate(hits, 1)
        if hit.paper_id in stored
    ]
    return TrendingList(window=window, papers=ranked, total=len(voted) + unvoted)
