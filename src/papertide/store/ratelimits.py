"""Sliding-window rate limits kept in the database, so every web process shares them.

Each allowed action leaves a row (key, time); an action is refused while ``limit`` rows of
its key lie within the window. Rows older than the window are deleted as the key is used,
so the table stays as small as the traffic of one window. On PostgreSQL a transaction-scoped
advisory lock per key makes check-then-insert atomic across processes; SQLite's write lock
(taken at BEGIN IMMEDIATE by ``begin_write``) already does.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, delete, func, select, text

from papertide.domain.clock import as_utc
from papertide.store.schema import rate_events


@dataclass(frozen=True, slots=True)
class RateRule:
    """At most ``limit`` actions under ``key`` within any ``window``."""

    key: str
    limit: int
    window: dt.timedelta


@dataclass(frozen=True, slots=True)
class RateDecision:
    """Whether an action may go ahead; when not, which rule refused and for how many seconds."""

    allowed: bool
    retry_after_seconds: int = 0
    refused_key: str | None = None


def _lock_key(conn: Connection, key: str) -> None:
    if conn.dialect.name == "postgresql":
        number = int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big", signed=True)
        conn.execute(text("SELECT pg_advisory_xact_lock(:number)"), {"number": number})


def _seconds_until_free(conn: Connection, rule: RateRule, now: dt.datetime) -> int:
    """0 when the rule allows one more action now, else the wait until its oldest event leaves the window."""
    if rule.limit < 1:
        raise ValueError(f"limit of {rule.key!r} must be at least 1, got {rule.limit}")
    since = now - rule.window
    conn.execute(delete(rate_events).where(rate_events.c.key == rule.key, rate_events.c.created_at <= since))
    count, oldest = conn.execute(
        select(func.count(), func.min(rate_events.c.created_at)).where(
            rate_events.c.key == rule.key, rate_events.c.created_at > since
        )
    ).one()
    if count < rule.limit:
        return 0
    oldest_at: dt.datetime = as_utc(oldest)
    return max(1, math.ceil((oldest_at + rule.window - now).total_seconds()))


def take_rate_slots(conn: Connection, rules: Sequence[RateRule], now: dt.datetime) -> RateDecision:
    """Record one action under every rule's key if all of them allow it, else record nothing.

    All-or-nothing, so a request refused by one limit (say, per client) does not use up
    another (say, per address). Call inside a write transaction and commit it with the action.
    """
    if not rules:
        return RateDecision(allowed=True)
    when = as_utc(now)
    for key in sorted({rule.key for rule in rules}):  # one lock order everywhere: no deadlocks
        _lock_key(conn, key)
    refusals = [(wait, rule.key) for rule in rules if (wait := _seconds_until_free(conn, rule, when))]
    if refusals:
        wait, key = max(refusals)
        return RateDecision(allowed=False, retry_after_seconds=wait, refused_key=key)
    conn.execute(rate_events.insert(), [{"key": rule.key, "created_at": when} for rule in rules])
    return RateDecision(allowed=True)


def count_rate_events(conn: Connection, key: str, *, window: dt.timedelta, now: dt.datetime) -> int:
    """Actions recorded under ``key`` within the window ending ``now``."""
    since = as_utc(now) - window
    return int(
        conn.execute(
            select(func.count()).where(rate_events.c.key == key, rate_events.c.created_at > since)
        ).scalar_one()
    )
