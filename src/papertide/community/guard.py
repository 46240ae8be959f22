"""Checks every community write makes first: who the member is now, whether they may write, rate limits.

Services read the member again inside the write transaction rather than trusting the session's
copy, so a suspension or a revoked role applies to the very next request.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection

from papertide.domain.accounts import User
from papertide.domain.errors import Forbidden, NotFound, ProfileRequired, RateLimited, Suspended
from papertide.store.accounts import get_user
from papertide.store.ratelimits import RateRule, take_rate_slots

__all__ = ["ProfileRequired", "load_member", "require_moderator", "require_writer", "take_slot"]


def load_member(conn: Connection, member_id: int) -> User:
    """The member as stored now; NotFound when the account is gone."""
    member = get_user(conn, member_id)
    if member is None:
        raise NotFound(f"no member with id {member_id}")
    return member


def require_writer(conn: Connection, member_id: int) -> User:
    """The member, if they may write: not suspended, and with a handle to sign their content with."""
    member = load_member(conn, member_id)
    if member.is_suspended:
        reason = f" ({member.suspension_reason})" if member.suspension_reason else ""
        raise Suspended(f"your account is suspended{reason}: you can read but not post or change anything")
    if not member.handle:
        raise ProfileRequired("choose a handle and a display name before posting")
    return member


def require_moderator(conn: Connection, member_id: int) -> User:
    """The member, if they are a moderator or admin and not suspended."""
    member = load_member(conn, member_id)
    if not member.is_moderator or member.is_suspended:
        raise Forbidden("only moderators can do this")
    return member


def take_slot(conn: Connection, key: str, limit: int, window: dt.timedelta, now: dt.datetime, what: str) -> None:
    """Record one action under ``key``, or raise RateLimited saying how long to wait."""
    decision = take_rate_slots(conn, [RateRule(key, limit, window)], now)
    if not decision.allowed:
        minutes = max(1, round(decision.retry_after_seconds / 60))
        raise RateLimited(
            f"too many {what}: at most {limit} every {_describe(window)}; try again in about {minutes} "
            f"minute{'s' if minutes != 1 else ''}",
            decision.retry_after_seconds,
        )


def _describe(window: dt.timedelta) -> str:
    minutes = int(window.total_seconds() // 60)
    if minutes % 1440 == 0:
        days = minutes // 1440
        return "day" if days == 1 else f"{days} days"
    if minutes % 60 == 0:
        hours = minutes // 60
        return "hour" if hours == 1 else f"{hours} hours"
    return f"{minutes} minutes"
