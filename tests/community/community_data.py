"""Shared values of the community tests: the fixed time, a hand-moved clock, the member factory type."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from papertide.domain.accounts import User

NOW = dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.UTC)
# Accounts made this long before NOW are past the new-member period.
ESTABLISHED = NOW - dt.timedelta(days=400)

MakeMember = Callable[..., User]


class Clock:
    """A clock tests move by hand."""

    def __init__(self, now: dt.datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)
