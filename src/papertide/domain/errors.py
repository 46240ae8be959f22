"""Errors that carry a message meant for a person: what was wrong and where."""

from __future__ import annotations


class PapertideError(Exception):
    """Base of every error papertide reports to a user instead of a traceback."""


class InvalidRecord(PapertideError):
    """A record of an input (file line, feed entry) that cannot be stored.

    :param location: where it was found, e.g. ``papers.jsonl:12`` or ``entry 4``.
    :param reason: what was wrong, naming the field when there is one.
    """

    def __init__(self, location: str, reason: str) -> None:
        super().__init__(f"{location}: {reason}")
        self.location = location
        self.reason = reason


class InvalidQuery(PapertideError):
    """A search query whose syntax cannot be understood."""


class NotFound(PapertideError):
    """Something asked for by id or key does not exist."""


class InvalidInput(PapertideError, ValueError):
    """A value a person typed that cannot be accepted; names the field and what was wrong."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class Forbidden(PapertideError):
    """The member may not do this (another member's comment, a moderator's action)."""


class Suspended(Forbidden):
    """The member's account is suspended: it can read but not write."""


class RateLimited(PapertideError):
    """Too many actions of one kind in the rate window; ``retry_after_seconds`` says how long to wait."""

    def __init__(self, message: str, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class ProfileRequired(Forbidden):
    """The member has not chosen a handle yet; pages send them to the profile form first."""
