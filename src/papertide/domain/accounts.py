"""Accounts: who is signed in and what became of a sign-in link."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class User:
    """A reader with an account; created the first time a sign-in link is used."""

    id: int
    email: str
    created_at: dt.datetime
    last_login_at: dt.datetime | None = None
    # Bumped by "sign out everywhere": sessions carry the epoch they were issued under.
    session_epoch: int = 0


class LinkState(enum.Enum):
    """Why a sign-in link can or cannot be used."""

    VALID = "valid"
    USED = "used"
    EXPIRED = "expired"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class LinkCheck:
    """The state of one sign-in link, with the address it was sent to when known."""

    state: LinkState
    email: str | None = None
    next_url: str | None = None
