"""The web app's clock: real time, unless a test puts a function on ``app.state.clock``."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import Depends, Request

from papertide.domain.clock import Clock, utc_now


def read_now(request: Request) -> dt.datetime:
    """The current instant by the app's clock (``app.state.clock`` when set)."""
    clock: Clock = getattr(request.app.state, "clock", None) or utc_now
    return clock()


NowDep = Annotated[dt.datetime, Depends(read_now)]
