"""Accounts: who is signed in, their community profile and role, and what became of a sign-in link."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass


class Role(enum.Enum):
    """What a member may do beyond their own content: moderators and admins moderate (issue 11)."""

    MEMBER = "member"
    MODERATOR = "moderator"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class User:
    """A reader with an account; created the first time a sign-in link is used."""

    id: int
    email: str
    created_at: dt.datetime
    last_login_at: dt.datetime | None = None
    # Bumped by "sign out everywhere": sessions carry the epoch they were issued under.
    session_epoch: int = 0
    # Community profile: None until the member chooses them (at first sign-in, issue 11).
    handle: str | None = None
    display_name: str | None = None
    role: Role = Role.MEMBER
    suspended_at: dt.datetime | None = None
    suspension_reason: str | None = None

    @property
    def is_moderator(self) -> bool:
        """Whether the member may moderate (moderators and admins)."""
        return self.role in (Role.MODERATOR, Role.ADMIN)

    @property
    def is_suspended(self) -> bool:
        """Whether the member can only read."""
        return self.suspended_at is not None

    @property
    def shown_name(self) -> str:
        """The name shown beside the member's content: display name, else @handle, else "member N"."""
        if self.display_name:
            return self.display_name
        if self.handle:
            return f"@{self.handle}"
        return f"member {self.id}"


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
