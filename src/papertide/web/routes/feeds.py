"""Atom and RSS feeds of the community lists: ``/feeds/trending.atom`` and ``/feeds/trending.rss``."""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response

from papertide.config import Settings
from papertide.domain.periods import InvalidPeriod, parse_time_zone, start_of_day
from papertide.listing import ListKind, period_path
from papertide.services import Services
from papertide.store.listings import PeriodList
from papertide.store.trending import TrendingList
from papertide.web.clock import NowDep
from papertide.web.deps import ConnDep, ServicesDep
from papertide.web.error_model import COMMON_STATUSES, documented
from papertide.web.feed_documents import (
    ATOM_TYPE,
    RSS_TYPE,
    Feed,
    FeedEntry,
    compose_atom,
    compose_rss,
    compose_summary,
)

router = APIRouter()
FEED_SIZE = 50


def compose_list_feed(
    result: TrendingList | PeriodList, settings: Settings, *, self_link: str, now: dt.datetime
) -> Feed:
    """The feed data of a list: one entry per paper, newest listing first in readers that sort."""
    base = settings.base_url.rstrip("/")
    zone = parse_time_zone(settings.list_timezone)
    if isinstance(result, TrendingList):
        title, link = f"{settings.site_name}: trending now", base + "/"
        subtitle = "Papers by upvotes, decayed with age since listing."
    else:
        title = f"{settings.site_name}: papers of {result.period.label}"
        link, subtitle = base + period_path(result.period), "Papers by upvotes."
    entries = []
    for ranked in result.papers:
        paper = ranked.item.paper
        url = f"{base}/papers/{paper.arxiv_id}"
        listed = paper.listing_date
        entries.append(
            FeedEntry(
                id=url,
                title=paper.title,
                link=url,
                updated=start_of_day(listed, zone) if listed else now,
                summary=f"▲ {ranked.item.upvotes} upvotes. {compose_summary(paper.abstract)}",
                authors=paper.authors,
                categories=paper.categories,
            )
        )
    updated = max((entry.updated for entry in entries), default=now)
    return Feed(
        id=self_link, title=title, link=link, self_link=self_link, updated=updated, subtitle=subtitle, entries=entries
    )


def _read_feed(
    request: Request, conn: ConnDep, services: Services, now: dt.datetime, period: str, date: str | None, suffix: str
) -> Feed:
    settings = services.settings
    try:
        result = services.lists.read(conn, kind=period, date_text=date, now=now, limit=FEED_SIZE)
    except InvalidPeriod as error:
        raise HTTPException(404, f"No such list: {error}.") from None
    query = urlencode({key: value for key, value in (("period", period), ("date", date)) if value})
    self_link = f"{settings.base_url.rstrip('/')}/feeds/trending.{suffix}" + (f"?{query}" if query else "")
    return compose_list_feed(result, settings, self_link=self_link, now=now)


PeriodQuery = Annotated[ListKind, Query(description="now, day, week or month.")]
DateQuery = Annotated[str | None, Query(max_length=20, description="2026-11-27, 2026-W48 or 2026-11.")]


@router.get(
    "/feeds/trending.atom", tags=["feeds"], response_class=Response, responses=documented(*COMMON_STATUSES, 404)
)
def read_trending_atom(
    request: Request,
    conn: ConnDep,
    services: ServicesDep,
    now: NowDep,
    period: PeriodQuery = "now",
    date: DateQuery = None,
) -> Response:
    """A community list as an Atom feed."""
    feed = _read_feed(request, conn, services, now, period, date, "atom")
    return Response(compose_atom(feed), media_type=ATOM_TYPE)


@router.get("/feeds/trending.rss", tags=["feeds"], response_class=Response, responses=documented(*COMMON_STATUSES, 404))
def read_trending_rss(
    request: Request,
    conn: ConnDep,
    services: ServicesDep,
    now: NowDep,
    period: PeriodQuery = "now",
    date: DateQuery = None,
) -> Response:
    """A community list as an RSS 2.0 feed."""
    feed = _read_feed(request, conn, services, now, period, date, "rss")
    return Response(compose_rss(feed), media_type=RSS_TYPE)
