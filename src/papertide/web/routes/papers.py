"""A paper's page and its upvote: ``GET /papers/{arxiv_id}`` and ``POST /papers/{arxiv_id}/vote``.

``/papers/{arxiv_id:path}`` matches any address under ``/papers/``, so this router comes after
the lists' ``/papers/date``, ``/papers/week`` and ``/papers/month`` (see routes/__init__.py).

Upvoting: the form names the state it wants (``vote=up`` or ``vote=down``) rather than "flip",
so a double click or a resubmitted form cannot undo itself; without ``vote`` it toggles. A plain
form gets a redirect back to the page it came from; fetch() asking for JSON gets the new count.

An upvote from someone signed out is not forgotten (issue 10): they are sent to sign in with
``next`` set to ``/papers/{id}/upvote?next=<page>``, a page that only shows a button which POSTs
the upvote (CSRF-protected; opening a link never changes anything), so after the emailed link
they finish the vote with one press and come back to where they were.

Addresses (issue 10): ``/papers/{id}`` is the one canonical address of a paper. Other spellings
(a trailing slash, ``arXiv:`` prefix, a version the collection knows, ``/papers/{id}v1`` for a
paper at v3) redirect there with 301, since the page always shows the latest stored version; a
version newer than the stored one is 404, not a page pretending to show it.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy import Connection

from papertide.domain.errors import InvalidRecord
from papertide.domain.identifiers import parse_arxiv_id
from papertide.domain.models import StoredPaper
from papertide.store.engine import begin_write
from papertide.store.ratelimits import RateRule, take_rate_slots
from papertide.store.votes import has_voted, write_vote
from papertide.web.clock import NowDep
from papertide.web.community_view import discussion_context
from papertide.web.deps import ConnDep, EngineDep, SearchDep, ServicesDep, SettingsDep, TemplatesDep
from papertide.web.paper_lookup import fetch_hit_papers, fetch_paper
from papertide.web.security import (
    CsrfDep,
    OptionalUserDep,
    SignInRequired,
    UserDep,
    parse_local_url,
    wants_json,
)

router = APIRouter()
SIMILAR_PAPERS = 6


def _canonical(conn: Connection, arxiv_id: str) -> StoredPaper | RedirectResponse:
    """The paper when ``arxiv_id`` is its canonical spelling, a redirect to it when another one; else 404."""
    raw = arxiv_id.rstrip("/")
    stored = fetch_paper(conn, raw)
    try:
        _key, version = parse_arxiv_id(raw)
    except InvalidRecord:  # fetch_paper answered 404 already; kept for the type checker
        raise HTTPException(404, f"{arxiv_id!r} is not an arXiv identifier.") from None
    key = stored.paper.arxiv_id
    if version is not None and version > stored.paper.version:
        raise HTTPException(
            404, f"This collection has arXiv:{key} up to v{stored.paper.version}; there is no v{version} here."
        )
    if arxiv_id != key:
        return RedirectResponse(f"/papers/{key}", status_code=301)
    return stored


@router.get("/papers/{arxiv_id:path}/upvote", response_class=HTMLResponse, include_in_schema=False)
def read_pending_upvote(
    request: Request,
    arxiv_id: str,
    user: UserDep,
    conn: ConnDep,
    templates: TemplatesDep,
    next: Annotated[str | None, Query(max_length=600)] = None,
) -> HTMLResponse:
    """The upvote someone asked for before signing in: a button that sends it (GET changes nothing)."""
    stored = fetch_paper(conn, arxiv_id, missing=", so it cannot be upvoted")
    context = {
        "item": stored,
        "paper": stored.paper,
        "back": parse_local_url(next, f"/papers/{stored.paper.arxiv_id}"),
        "voted": has_voted(conn, user.id, stored.id),
    }
    return templates.TemplateResponse(request, "upvote_pending.html", context)


@router.get("/papers/{arxiv_id:path}", response_class=HTMLResponse, include_in_schema=False, response_model=None)
def read_paper(
    request: Request,
    arxiv_id: str,
    conn: ConnDep,
    templates: TemplatesDep,
    search: SearchDep,
    services: ServicesDep,
) -> HTMLResponse | RedirectResponse:
    """One paper at its canonical address ``/papers/{id}`` (module docstring), with its discussion (issue 11)."""
    found = _canonical(conn, arxiv_id)
    if isinstance(found, RedirectResponse):
        return found
    stored = found
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
        # Remember the upvote: after signing in, this page offers to finish it.
        raise SignInRequired(f"/papers/{key}/upvote?" + urlencode({"next": back}))
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
