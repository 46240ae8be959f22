"""When a subscriber's digest is due: pure, against the ``now`` the caller passes in.

A daily subscriber has one delivery slot a day, at their hour in their IANA time zone; a
weekly one has it on Mondays. A run sends the latest slot at or before ``now`` when it has
not gone out yet, so `papertide digest run` can run as often as you like (every 15 minutes
is a good rhythm) and a run that was missed catches up, up to ``max_delay`` late. A slot
before the address was confirmed is never sent: the first digest follows the next slot.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo

from papertide.domain.subscribers import Preferences, Subscriber

PERIOD_LENGTH = {"daily": dt.timedelta(days=1), "weekly": dt.timedelta(days=7)}


@dataclass(frozen=True, slots=True)
class Slot:
    """One delivery of one subscriber: the period it covers and the instant it is due."""

    period_key: str
    due_at: dt.datetime
    label: str
    length: dt.timedelta


def _label(day: dt.date) -> str:
    return f"{day.day} {day:%b %Y}"


def select_slot(preferences: Preferences, now: dt.datetime) -> Slot | None:
    """The latest delivery slot at or before ``now``; None when paused."""
    return _slot(preferences.frequency, preferences.hour, preferences.timezone, now)


@lru_cache(maxsize=4096)
def _slot(frequency: str, hour: int, timezone: str, now: dt.datetime) -> Slot | None:
    # Memoised: a run asks for the same few hundred (frequency, hour, zone) slots 100,000 times.
    if frequency not in PERIOD_LENGTH:
        return None
    preferences = Preferences(frequency=frequency, hour=hour, timezone=timezone)
    zone = ZoneInfo(preferences.timezone)
    local = now.astimezone(zone)
    day = local.date()
    if preferences.frequency == "weekly":
        day -= dt.timedelta(days=day.weekday())
    due = dt.datetime.combine(day, dt.time(preferences.hour), tzinfo=zone)
    if due > local:
        day -= PERIOD_LENGTH[preferences.frequency]
        due = dt.datetime.combine(day, dt.time(preferences.hour), tzinfo=zone)
    if preferences.frequency == "weekly":
        year, week, _ = day.isocalendar()
        key = f"week:{year:04d}-W{week:02d}"
    else:
        key = f"day:{day.isoformat()}"
    return Slot(
        period_key=key, due_at=due.astimezone(dt.UTC), label=_label(day), length=PERIOD_LENGTH[preferences.frequency]
    )


def select_due_slot(subscriber: Subscriber, now: dt.datetime, *, max_delay: dt.timedelta) -> Slot | None:
    """The slot to send now, or None: not confirmed, paused, already planned, too late, or before confirming."""
    if subscriber.status != "confirmed":
        return None
    slot = select_slot(subscriber.preferences, now)
    if slot is None or now - slot.due_at > max_delay:
        return None
    if subscriber.confirmed_at is not None and slot.due_at < subscriber.confirmed_at:
        return None
    if subscriber.last_digest_at is not None and slot.due_at <= subscriber.last_digest_at:
        return None
    return slot


def select_since(subscriber: Subscriber, slot: Slot, *, max_lookback: dt.timedelta) -> dt.datetime:
    """The start of what counts as new: the previous digest's slot, else one period back, capped."""
    since = subscriber.last_digest_at or slot.due_at - slot.length
    return max(since, slot.due_at - max_lookback)


def select_period_label(period_key: str) -> tuple[str, str]:
    """The frequency and reader's label of a stored period key ("week:2026-W34" -> weekly, "17 Aug 2026")."""
    kind, _, value = period_key.partition(":")
    if kind == "week":
        year, week = value.split("-W")
        return "weekly", _label(dt.date.fromisocalendar(int(year), int(week), 1))
    return "daily", _label(dt.date.fromisoformat(value))
