"""Papers with controlled dates and votes, and subscribers, for the digest tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import Engine

from papertide.domain.models import Paper
from papertide.domain.subscribers import Preferences, Subscriber, Topics
from papertide.store.engine import begin_write
from papertide.store.papers import upsert_papers
from papertide.store.subscribers import insert_subscriber

NOW = dt.datetime(2026, 8, 21, 12, 0, tzinfo=dt.UTC)
SECRET = "digest-test-secret-0123456789abcdef"


def make_paper(
    number: int,
    *,
    listed_on: dt.date = dt.date(2026, 8, 20),
    upvotes: int = 0,
    title: str | None = None,
    categories: Sequence[str] = ("cs.LG",),
    authors: Sequence[str] = ("Grace Hopper",),
    abstract: str = "We study how models learn. " * 12,
) -> Paper:
    return Paper(
        arxiv_id=f"2608.{number:05d}",
        title=title or f"Paper number {number}",
        abstract=abstract,
        authors=tuple(authors),
        categories=tuple(categories),
        primary_category=categories[0] if categories else None,
        published=listed_on,
        listed_on=listed_on,
        external_upvotes=upvotes,
    )


def store_papers(engine: Engine, papers: Sequence[Paper], now: dt.datetime = NOW) -> None:
    with begin_write(engine) as conn:
        upsert_papers(conn, list(papers), now)


def add_subscriber(
    engine: Engine,
    email: str,
    *,
    status: str = "confirmed",
    topics: Topics | None = None,
    hour: int = 7,
    timezone: str = "UTC",
    size: int = 10,
    frequency: str = "daily",
    since: dt.datetime = NOW - dt.timedelta(days=3),
) -> Subscriber:
    preferences = Preferences(frequency=frequency, hour=hour, timezone=timezone, size=size, topics=topics or Topics())
    with begin_write(engine) as conn:
        subscriber = insert_subscriber(conn, email, preferences, status=status, now=since)
    assert subscriber is not None
    return subscriber
