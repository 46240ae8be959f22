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
