"""The web app's clock: real time, unless a test puts a function on ``app.state.clock``."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import Depends, Request

from papertide.domain.trending import Clock


def system_clock() -> dt.datetime:
    """Now, in UTC."""
    return dt.datetime.now(dt.UTC)


def read_now(request: Request) -> dt.datetime:
    """The current instant by the app's clock (``app.state.clock`` when set)."""
    clock: Clock = getattr(request.app.state, "clock", None) or system_clock
    return clock()


NowDep = Annotated[dt.datetime, Depends(read_now)]
