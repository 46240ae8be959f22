"""``GET /api/v1/trending``: the community lists as JSON."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from papertide.domain.periods import InvalidPeriod
from papertide.listing import ListKind, ListOut, compose_list_out
from papertide.web.clock import NowDep
from papertide.web.deps import ConnDep, ServicesDep

router = APIRouter(tags=["trending"])


@router.get("/trending", response_model=ListOut)
def read_trending_list(
    conn: ConnDep,
    services: ServicesDep,
    now: NowDep,
    period: Annotated[
        ListKind, Query(description="`now` (decayed trending score) or a day, ISO week or month (by upvotes).")
    ] = "now",
    date: Annotated[
        str | None,
        Query(
            max_length=20,
            description="For day/week/month: 2026-11-27, 2026-W48, 2026-11, or any day inside the week or month. "
            "Default: the latest period with papers.",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 30,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> ListOut:
    """Trending now, or the papers of a day, week or month, with links to the neighbouring periods."""
    try:
        result = services.lists.read(conn, kind=period, date_text=date, now=now, limit=limit, offset=offset)
    except InvalidPeriod as error:
        raise HTTPException(422, str(error)) from None
    return compose_list_out(result, base_url=services.settings.base_url, offset=offset)
