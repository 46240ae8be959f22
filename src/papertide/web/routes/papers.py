"""A paper's page and its upvote: ``GET /papers/{arxiv_id}`` and ``POST /papers/{arxiv_id}/vote``.

``/papers/{arxiv_id:path}`` matches any address under ``/papers/``, so this router comes after
the lists' ``/papers/date``, ``/papers/week`` and ``/papers/month`` (see routes/__init__.py).

Upvoting: the form names the state it wants (``vote=up`` or ``vote=down``) rather than "flip",
so a double click or a resubmitted form cannot undo itself; without ``vote`` it toggles. A plain
form gets a redirect back to the page it came from; fetch() asking for JSON gets the new count.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from papertide.store.engine import begin_write
from papertide.store.ratelimits import RateRule, take_rate_slots
from papertide.store.votes import has_voted, write_vote
from papertide.web.clock import NowDep
from papertide.web.community_view import discussion_context
from papertide.web.deps import ConnDep, EngineDep, SearchDep, ServicesDep, SettingsDep, TemplatesDep
from papertide.web.paper_lookup import fetch_hit_papers, fetch_paper
from papertide.web.security import CsrfDep, OptionalUserDep, SignInRequired, parse_local_url, wants_json

router = APIRouter()
SIMILAR_PAPERS = 6


@router.get("/papers/{arxiv_id:path}", response_class=HTMLResponse, include_in_schema=False)
def read_paper(
    request: Request,
    arxiv_id: str,
    conn: ConnDep,
    templates: TemplatesDep,
    search: SearchDep,
    services: ServicesDep,
) -> HTMLResponse:
    """One paper, by its arXiv id (a version suffix is ignored), with its discussion (issue 11)."""
    stored = fetch_paper(conn, arxiv_id)
    discussion = discussion_context(request, services, stored.id)
    # "Similar papers" (issue 4): nearest by embedding, by shared words before the paper has one.
    related = fetch_hit_papers(conn, search.similar(stored.id, SIMILAR_PAPERS))
    return templates.TemplateResponse(
        request, "paper.html", {"item": stored, "paper": stored.paper, "related": related, "discussion": discussion}
    )


@router.post("/papers/{arxiv_id:path}/vote", include_in_schema=False, response_model=None)
def vote_on_paper(
    request: Request,
    arxiv_id: str,
    _csrf: CsrfDep,
    user: OptionalUserDep,
    engine: EngineDep,
    settings: SettingsDep,
    now: NowDep,
    vote: Annotated[Literal["up", "down"] | None, Form()] = None,
    next: Annotated[str | None, Form(max_length=600)] = None,
) -> Response:
    """Upvote (``vote=up``), take the upvote back (``vote=down``) or toggle (no ``vote``)."""
    with engine.connect() as conn:
        stored = fetch_paper(conn, arxiv_id, missing=", so it cannot be upvoted")
    key = stored.paper.arxiv_id
    back = parse_local_url(next, f"/papers/{key}")
    if user is None:
        raise SignInRequired(back)
    rule = RateRule(
        f"vote:user:{user.id}", settings.votes_per_user, dt.timedelta(minutes=settings.vote_rate_window_minutes)
    )
    with begin_write(engine) as conn:
        decision = take_rate_slots(conn, [rule], now)
        if decision.allowed:
            wanted = (vote == "up") if vote is not None else not has_voted(conn, user.id, stored.id)
            outcome = write_vote(conn, user_id=user.id, paper_id=stored.id, wanted=wanted, now=now)
    if not decision.allowed:
        minutes = -(-decision.retry_after_seconds // 60)
        raise HTTPException(
            429,
            f"You have voted very often in the last {settings.vote_rate_window_minutes} minutes. "
            f"Please wait {minutes} minute{'s' if minutes != 1 else ''} and try again.",
            headers={"Retry-After": str(decision.retry_after_seconds)},
        )
    if wants_json(request):
        return JSONResponse(
            {"arxiv_id": key, "voted": outcome.voted, "changed": outcome.changed, "upvotes": outcome.upvotes}
        )
    return RedirectResponse(f"{back}#paper-{stored.id}" if "#" not in back else back, status_code=303)
