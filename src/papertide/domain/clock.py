"""The one notion of "now": an aware UTC instant, from a clock the caller can replace.

Code that needs the time takes a :data:`Clock` argument (defaulting to :func:`utc_now`), so
tests pass a fixed or hand-moved one instead of racing the real time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import overload

Clock = Callable[[], dt.datetime]
"""Returns the current instant, time-zone aware; tests pass a fixed one."""


def utc_now() -> dt.datetime:
    """The real clock: now, time-zone aware, in UTC."""
    return dt.datetime.now(dt.UTC)


@overload
def as_utc(value: dt.datetime) -> dt.datetime: ...


@overload
def as_utc(value: None) -> None: ...


def as_utc(value: dt.datetime | None) -> dt.datetime | None:
    """The same instant as an aware UTC datetime; a naive value is taken as UTC, None stays None.

    SQLite hands back naive datetimes (papertide always writes UTC), and people type instants
    without a zone; both mean UTC.
    """
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)
