"""The signed-in member's digest subscription: the row of ``subscribers`` with the account's address.

Accounts and digest subscriptions are separate tables (one can subscribe without an account);
they meet by address. Read once per request, on first use and only when someone is signed in,
so the banner (hidden for subscribers) and the account page cost one query between them.
"""

from __future__ import annotations

from fastapi import Request

from papertide.domain.subscribers import Subscriber
from papertide.store.subscribers import get_subscriber_by_email
from papertide.web.security import session_user

_STATE_SUBSCRIBER = "papertide_account_subscriber"
_MISSING = object()


def account_subscriber(request: Request) -> Subscriber | None:
    """The digest subscription of the signed-in member's address, whatever its status; None if none."""
    cached = getattr(request.state, _STATE_SUBSCRIBER, _MISSING)
    if cached is not _MISSING:
        return cached  # type: ignore[return-value]
    user = session_user(request)
    found: Subscriber | None = None
    if user is not None:
        with request.app.state.engine.connect() as conn:
            found = get_subscriber_by_email(conn, user.email)
    setattr(request.state, _STATE_SUBSCRIBER, found)
    return found


def forget_account_subscriber(request: Request) -> None:
    """Drop the cached row after this request changed it."""
    if hasattr(request.state, _STATE_SUBSCRIBER):
        delattr(request.state, _STATE_SUBSCRIBER)


def is_digest_subscriber(request: Request) -> bool:
    """Whether the signed-in member's address gets the digest (a Jinja global: it hides the banner)."""
    subscriber = account_subscriber(request)
    return subscriber is not None and subscriber.status == "confirmed"
