"""One way to read a community list, shared by the pages, the JSON API, the feeds and the CLI.

A list is named by a kind (``now``, ``day``, ``week``, ``month``) and, for periods, a date
text: the period's own form (``2026-11-27``, ``2026-W48``, ``2026-11``) or, for weeks and
months, any day inside them. Without a date, a period list is the latest one with papers.
The rules (time zone, trending window and decay) come from the composition root
(services.py), so the web and the CLI read the same lists.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy import Connection

from papertide.domain.links import http_link
from papertide.domain.periods import (
    InvalidPeriod,
    Period,
    local_date,
    parse_period_kind,
    parse_period_reference,
)
from papertide.store.listings import PeriodList, RankedPaper, read_default_period, read_period_list
from papertide.store.trending import TrendingList, read_trending_now

ListKind = Literal["now", "day", "week", "month"]
_SEGMENTS = {"day": "date", "week": "week", "month": "month"}


def period_path(period: Period) -> str:
    """The page of a period: /papers/date/2026-11-27, /papers/week/2026-W48, /papers/month/2026-11."""
    return f"/papers/{_SEGMENTS[period.kind]}/{period.key}"


@dataclass(frozen=True, slots=True)
class CommunityLists:
    """Reads trending now and the lists of days, weeks and months under one site's rules.

    :param zone: the time zone whose calendar dates listings (``list_timezone``).
    :param window_days: the days that compete for trending now.
    """

    zone: dt.tzinfo
    window_days: int
    gravity: float
    offset_hours: float

    def read(
        self,
        conn: Connection,
        *,
        kind: str,
        date_text: str | None,
        now: dt.datetime,
        limit: int,
        offset: int = 0,
    ) -> TrendingList | PeriodList:
        """Trending now, or the papers of a period; raises InvalidPeriod for a bad kind or date."""
        if kind == "now":
            if date_text:
                raise InvalidPeriod("trending now takes no date: use period=day, week or month with a date")
            return read_trending_now(
                conn,
                now=now,
                zone=self.zone,
                window_days=self.window_days,
                gravity=self.gravity,
                offset_hours=self.offset_hours,
                limit=limit,
                offset=offset,
            )
        period_kind = parse_period_kind(kind)
        if date_text:
            period = parse_period_reference(period_kind, date_text.strip())
        else:
            period = read_default_period(conn, period_kind, local_date(now, self.zone))
        return read_period_list(conn, period, limit=limit, offset=offset)


class PeriodOut(BaseModel):
    """A day, ISO week or month."""

    kind: Literal["day", "week", "month"]
    key: str = Field(description="Canonical form: 2026-11-27, 2026-W48 or 2026-11.")
    start: dt.date
    end: dt.date = Field(description="Last day, included.")
    label: str
    url: str


class WindowOut(BaseModel):
    """The days that competed for trending now, and the instant they were scored at."""

    since: dt.date
    until: dt.date
    as_of: dt.datetime
    fallback: bool = Field(
        description="True when nothing was listed recently and the latest days with papers are shown."
    )


class PaperOut(BaseModel):
    """One paper in a list."""

    rank: int
    arxiv_id: str
    title: str
    authors: list[str]
    listed_on: dt.date | None
    published: dt.date | None
    upvotes: int = Field(description="Imported upvotes plus community upvotes.")
    external_upvotes: int
    community_upvotes: int
    score: float = Field(description="Trending score for trending now; upvotes for period lists.")
    url: str
    abs_url: str | None
    pdf_url: str | None


class ListOut(BaseModel):
    """A page of a community list."""

    kind: ListKind = Field(description="now, day, week or month.")
    period: PeriodOut | None
    window: WindowOut | None
    total: int
    offset: int
    previous: PeriodOut | None
    next: PeriodOut | None
    papers: list[PaperOut]


def _period_out(period: Period | None, base_url: str) -> PeriodOut | None:
    if period is None:
        return None
    return PeriodOut(
        kind=period.kind,
        key=period.key,
        start=period.start,
        end=period.end,
        label=period.label,
        url=base_url + period_path(period),
    )


def _paper_out(ranked: RankedPaper, base_url: str) -> PaperOut:
    paper = ranked.item.paper
    return PaperOut(
        rank=ranked.rank,
        arxiv_id=paper.arxiv_id,
        title=paper.title,
        authors=list(paper.authors),
        listed_on=paper.listing_date,
        published=paper.published,
        upvotes=ranked.item.upvotes,
        external_upvotes=paper.external_upvotes,
        community_upvotes=ranked.item.community_upvotes,
        score=round(ranked.score, 9),
        url=f"{base_url}/papers/{paper.arxiv_id}",
        abs_url=http_link(paper.abs_url),
        pdf_url=http_link(paper.pdf_url),
    )


def compose_list_out(result: TrendingList | PeriodList, *, base_url: str, offset: int) -> ListOut:
    """The JSON shape of a list (the API's and ``papertide trending --json``'s)."""
    base = base_url.rstrip("/")
    papers = [_paper_out(ranked, base) for ranked in result.papers]
    if isinstance(result, TrendingList):
        window = WindowOut(
            since=result.window.since,
            until=result.window.until,
            as_of=result.window.as_of,
            fallback=result.window.is_fallback,
        )
        return ListOut(
            kind="now",
            period=None,
            window=window,
            total=result.total,
            offset=offset,
            previous=None,
            next=None,
            papers=papers,
        )
    return ListOut(
        kind=result.period.kind,
        period=_period_out(result.period, base),
        window=None,
        total=result.total,
        offset=offset,
        previous=_period_out(result.previous, base),
        next=_period_out(result.next, base),
        papers=papers,
    )
