"""Digest subscribers as values: who gets a digest, how often, when, and about what.

Pure vocabulary shared by the store (which reads and writes it), the digest planner and
the web pages; validation of what a person typed lives in digest/preferences.py.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

FREQUENCIES = ("daily", "weekly", "paused")
STATUSES = ("pending", "confirmed", "unsubscribed", "bouncing")


@dataclass(frozen=True, slots=True)
class Topics:
    """What a subscriber follows: arXiv categories, author names and free-text topics."""

    categories: tuple[str, ...] = ()
    authors: tuple[str, ...] = ()
    phrases: tuple[str, ...] = ()

    def is_empty(self) -> bool:
        """Whether nothing is followed, so the digest is plain trending."""
        return not (self.categories or self.authors or self.phrases)

    def to_json(self) -> dict[str, list[str]]:
        """The form stored in ``subscribers.topics``."""
        return {"categories": list(self.categories), "authors": list(self.authors), "topics": list(self.phrases)}

    @classmethod
    def from_json(cls, value: Any) -> Topics:
        """Read the stored form; anything missing counts as empty."""
        if not isinstance(value, dict):
            return cls()

        def strings(name: str) -> tuple[str, ...]:
            items = value.get(name) or []
            return tuple(str(item) for item in items if isinstance(item, str))

        return cls(categories=strings("categories"), authors=strings("authors"), phrases=strings("topics"))


def topic_words(topic: str) -> str:
    """A free-text topic as plain words: quotes and colons dropped, so it never reads as query syntax.

    What the search service is asked for a topic (digest/plan.py), and what its stored query
    vector is keyed by (store/topic_vectors.py): erasing a subscriber finds the vectors of their
    topics by it.
    """
    return " ".join(topic.replace('"', " ").replace(":", " ").split())


@dataclass(frozen=True, slots=True)
class Preferences:
    """How often, when (hour in the subscriber's IANA zone), how many papers, and which topics."""

    frequency: str = "daily"
    hour: int = 7
    timezone: str = "UTC"
    size: int = 10
    topics: Topics = field(default_factory=Topics)


@dataclass(frozen=True, slots=True)
class Subscriber:
    """One address on the digest list and where it stands."""

    id: int
    email: str
    status: str
    preferences: Preferences
    created_at: dt.datetime
    confirmed_at: dt.datetime | None = None
    unsubscribed_at: dt.datetime | None = None
    last_digest_at: dt.datetime | None = None
    bounce_count: int = 0
    confirmation_sent_at: dt.datetime | None = None
