"""The community lists as pages: trending now (home) and the daily, weekly and monthly lists.

Their ``/papers/date``, ``/papers/week`` and ``/papers/month`` addresses are included before
papers.py's ``/papers/{arxiv_id:path}`` (routes/__init__.py says why).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from papertide.domain.periods import InvalidPeriod, PeriodKind, local_date, parse_time_zone, period_containing
from papertide.listing import period_path
from papertide.store.listings import PeriodList, read_default_period
from papertide.store.papers import count_papers
from papertide.store.trending import TrendingList
from papertide.web.clock import NowDep
from papertide.web.deps import ConnDep, ServicesDep, SettingsDep, TemplatesDep
from papertide.web.page_cards import expect_cards

router = APIRouter()
PageQuery = Annotated[int, Query(ge=1, le=10_000, description="Page number, from 1.")]
_HEADINGS: dict[PeriodKind, str] = {"day": "Daily papers", "week": "Weekly papers", "month": "Monthly papers"}


def _pager(request: Request, page: int, total: int, size: int) -> dict[str, str | None]:
    def at(number: int) -> str:
        return str(request.url.include_query_params(page=number).replace(scheme="", netloc=""))

    return {
        "previous": at(page - 1) if page > 1 else None,
        "next": at(page + 1) if page * size < total else None,
    }


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def read_trending(
    request: Request, conn: ConnDep, templates: TemplatesDep, services: ServicesDep, now: NowDep, page: PageQuery = 1
) -> HTMLResponse:
    """Home: trending now, by upvotes decayed with age."""
    settings = services.settings
    size = settings.list_page_size
    result = services.lists.read(conn, kind="now", date_text=None, now=now, limit=size, offset=(page - 1) * size)
    assert isinstance(result, TrendingList)
    if page > 1 and not result.papers:
        raise HTTPException(404, f"Trending now has {result.total} papers; there is no page {page}.")
    expect_cards(request, [ranked.item.id for ranked in result.papers])
    zone = parse_time_zone(settings.list_timezone)
    context: dict[str, Any] = {
        "listing": result,
        "window": result.window,
        "window_days": settings.trending_window_days,
        "latest_day_path": period_path(period_containing("day", result.window.until)),
        "today": local_date(now, zone),
        "total_papers": count_papers(conn),
        "pager": _pager(request, page, result.total, size),
        "feed_query": "period=now",
    }
    return templates.TemplateResponse(request, "home.html", context)


def _render_period(
    request: Request,
    kind: PeriodKind,
    text: str,
    page: int,
    conn: ConnDep,
    templates: TemplatesDep,
    services: ServicesDep,
    now: NowDep,
) -> HTMLResponse:
    size = services.settings.list_page_size
    try:
        result = services.lists.read(conn, kind=kind, date_text=text, now=now, limit=size, offset=(page - 1) * size)
    except InvalidPeriod as error:
        raise HTTPException(404, f"No such list: {error}.") from None
    assert isinstance(result, PeriodList)
    if result.period.key != text:
        # A week or month named by a day inside it lands on its canonical address.
        raise HTTPException(404, f"No such list: write the {kind} as {result.period.key}.")
    if page > 1 and not result.papers:
        raise HTTPException(404, f"{result.period.label} has {result.total} papers; there is no page {page}.")
    expect_cards(request, [ranked.item.id for ranked in result.papers])
    period = result.period
    context: dict[str, Any] = {
        "listing": result,
        "period": period,
        "heading": _HEADINGS[kind],
        "previous_path": period_path(result.previous) if result.previous else None,
        "next_path": period_path(result.next) if result.next else None,
        "switch": {other: period_path(period_containing(other, period.start)) for other in _HEADINGS},
        "pager": _pager(request, page, result.total, size),
        "feed_query": f"period={kind}&date={period.key}",
    }
    return templates.TemplateResponse(request, "period.html", context)


def _redirect_to_latest(kind: PeriodKind, conn: ConnDep, settings: SettingsDep, now: NowDep) -> RedirectResponse:
    today = local_date(now, parse_time_zone(settings.list_timezone))
    return RedirectResponse(period_path(read_default_period(conn, kind, today)), status_code=302)


@router.get("/papers/date", include_in_schema=False)
def read_latest_day(conn: ConnDep, settings: SettingsDep, now: NowDep) -> RedirectResponse:
    """The latest day with papers."""
    return _redirect_to_latest("day", conn, settings, now)


@router.get("/papers/week", include_in_schema=False)
def read_latest_week(conn: ConnDep, settings: SettingsDep, now: NowDep) -> RedirectResponse:
    """The latest ISO week with papers."""
    return _redirect_to_latest("week", conn, settings, now)


@router.get("/papers/month", include_in_schema=False)
def read_latest_month(conn: ConnDep, settings: SettingsDep, now: NowDep) -> RedirectResponse:
    """The latest month with papers."""
    return _redirect_to_latest("month", conn, settings, now)


@router.get("/papers/date/{day}", response_class=HTMLResponse, include_in_schema=False)
def read_day(
    request: Request,
    day: str,
    conn: ConnDep,
    templates: TemplatesDep,
    services: ServicesDep,
    now: NowDep,
    page: PageQuery = 1,
) -> HTMLResponse:
    """The papers of one day (YYYY-MM-DD), most upvoted first."""
    return _render_period(request, "day", day, page, conn, templates, services, now)


@router.get("/papers/week/{week}", response_class=HTMLResponse, include_in_schema=False)
def read_week(
    request: Request,
    week: str,
    conn: ConnDep,
    templates: TemplatesDep,
    services: ServicesDep,
    now: NowDep,
    page: PageQuery = 1,
) -> HTMLResponse:
    """The papers of one ISO week (YYYY-Www), most upvoted first."""
    return _render_period(request, "week", week, page, conn, templates, services, now)


@router.get("/papers/month/{month}", response_class=HTMLResponse, include_in_schema=False)
def read_month(
    request: Request,
    month: str,
    conn: ConnDep,
    templates: TemplatesDep,
    services: ServicesDep,
    now: NowDep,
    page: PageQuery = 1,
) -> HTMLResponse:
    """The papers of one month (YYYY-MM), most upvoted first."""
    return _render_period(request, "month", month, page, conn, templates, services, now)
