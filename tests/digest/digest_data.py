"""Papers with controlled dates and votes, and subscribers, for the digest tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import Connection, Engine, Select, select

from papertide.domain.models import Paper
from papertide.domain.subscribers import Preferences, Subscriber, Topics
from papertide.store.engine import begin_write
from papertide.store.papers import upsert_papers
from papertide.store.schema import digest_outbox, digest_selection_items
from papertide.store.selections import PlannedItem, write_selections
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


def record_digest(
    conn: Connection,
    subscriber_id: int,
    paper_ids: Sequence[int],
    *,
    period_key: str = "day:2026-08-01",
    state: str = "sent",
    reason: str = "x",
) -> int:
    """An earlier digest of ``subscriber_id`` holding ``paper_ids``, with a selection of its own; returns its row id."""
    selection_id = write_selections(
        conn, [[PlannedItem(paper_id, i, reason) for i, paper_id in enumerate(paper_ids)]], NOW
    )[0]
    return int(
        conn.execute(
            digest_outbox.insert().values(
                subscriber_id=subscriber_id,
                period_key=period_key,
                state=state,
                message_id=f"<old.{period_key}.{subscriber_id}@example.org>",
                due_at=NOW,
                attempts=1,
                created_at=NOW,
                selection_id=selection_id,
            )
        ).inserted_primary_key[0]
    )


def digest_items_query() -> Select[tuple[int, int, int, int, str]]:
    """Every stored digest item: (delivery row id, subscriber id, paper id, position, reason)."""
    return select(
        digest_outbox.c.id,
        digest_outbox.c.subscriber_id,
        digest_selection_items.c.paper_id,
        digest_selection_items.c.position,
        digest_selection_items.c.reason,
    ).select_from(
        digest_outbox.join(
            digest_selection_items, digest_selection_items.c.selection_id == digest_outbox.c.selection_id
        )
    )
