"""The signed-in reader's own upvotes, read by templates to draw vote buttons.

Any template that includes ``_paper_item.html`` shows the right button state without its
route doing anything: the signed-in user's votes are read once per request, on first use,
and only when someone is signed in.
"""

from __future__ import annotations

from fastapi import Request

from papertide.store.votes import list_voted_ids
from papertide.web.security import session_user

_STATE_VOTES = "papertide_voted_ids"


def voted_ids(request: Request) -> frozenset[int]:
    """Ids of the papers the signed-in user upvoted (empty when signed out)."""
    cached: frozenset[int] | None = getattr(request.state, _STATE_VOTES, None)
    if cached is not None:
        return cached
    user = session_user(request)
    ids: frozenset[int] = frozenset()
    if user is not None:
        with request.app.state.engine.connect() as conn:
            ids = frozenset(list_voted_ids(conn, user.id))
    setattr(request.state, _STATE_VOTES, ids)
    return ids


def has_upvoted(request: Request, paper_id: int) -> bool:
    """Whether the signed-in user upvoted the paper (a Jinja global)."""
    return paper_id in voted_ids(request)
