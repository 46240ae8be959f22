"""Reading and writing digest subscribers; callers get domain.subscribers values, never rows.

Validation of what a person typed lives in digest/preferences.py; this module trusts its
arguments and only keeps the state transitions atomic (one UPDATE with its precondition).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Dialect, Row, Text, and_, cast, delete, func, select, update

from papertide.domain.clock import as_utc
from papertide.domain.subscribers import STATUSES, Preferences, Subscriber, Topics
from papertide.store.any_of import any_of
from papertide.store.dialect import insert_if_absent
from papertide.store.index_order import keep_index_order
from papertide.store.schema import subscribers
from papertide.store.selections import delete_unused_selections, list_subscriber_selection_ids
from papertide.store.topic_vectors import forget_topic_vectors


@lru_cache(maxsize=16384)
def _topics_from_text(text: str) -> Topics:
    """Stored topics read from their JSON text, memoised: many subscribers follow the very same topics.

    Planning reads every subscriber of a run (issue 13): at 20,000 subscribers 8,006 distinct
    topic sets, the no-topics and popular category sets followed by thousands. Topics are
    immutable, so subscribers with the same text share one value.
    """
    return Topics.from_json(json.loads(text))


def _read_topics(value: Any) -> Topics:
    # Text from LISTED_COLUMNS (a CAST), or the JSON type's parsed value from a plain select(subscribers).
    return _topics_from_text(value) if isinstance(value, str) else Topics.from_json(value)


LISTED_COLUMNS = [
    *(column for column in subscribers.c if column.name != "topics"),
    cast(subscribers.c.topics, Text).label("topics"),
]
"""The columns of ``subscribers`` with the topics as their stored text, for ``_topics_from_text``."""


def to_subscriber(row: Row[Any]) -> Subscriber:
    """A row of ``subscribers`` as a Subscriber."""
    mapping = row._mapping
    preferences = Preferences(
        frequency=mapping["frequency"],
        hour=int(mapping["hour"]),
        timezone=mapping["timezone"],
        size=int(mapping["size"]),
        topics=_read_topics(mapping["topics"]),
    )
    return Subscriber(
        id=int(mapping["id"]),
        email=mapping["email"],
        status=mapping["status"],
        preferences=preferences,
        created_at=as_utc(mapping["created_at"]),
        confirmed_at=as_utc(mapping["confirmed_at"]),
        unsubscribed_at=as_utc(mapping["unsubscribed_at"]),
        last_digest_at=as_utc(mapping["last_digest_at"]),
        bounce_count=int(mapping["bounce_count"]),
        confirmation_sent_at=as_utc(mapping["confirmation_sent_at"]),
    )


def _preference_values(preferences: Preferences) -> dict[str, Any]:
    return {
        "frequency": preferences.frequency,
        "hour": preferences.hour,
        "timezone": preferences.timezone,
        "size": preferences.size,
        "topics": preferences.topics.to_json(),
    }


def get_subscriber(conn: Connection, subscriber_id: int) -> Subscriber | None:
    """One subscriber by id, or None."""
    row = conn.execute(select(subscribers).where(subscribers.c.id == subscriber_id)).first()
    return to_subscriber(row) if row else None


def get_subscribers(conn: Connection, subscriber_ids: Sequence[int]) -> dict[int, Subscriber]:
    """Subscribers by id; ids not found are left out."""
    found: dict[int, Subscriber] = {}
    for start in range(0, len(subscriber_ids), 5000):
        chunk = list(subscriber_ids[start : start + 5000])
        for row in conn.execute(select(subscribers).where(any_of(conn, subscribers.c.id, chunk))):
            subscriber = to_subscriber(row)
            found[subscriber.id] = subscriber
    return found


@dataclass(frozen=True, slots=True)
class Recipient:
    """What delivery needs of a subscriber: where to send, and whether a success must reset bounces.

    Delivery reads this for every message it sends; the whole Subscriber (its topics parsed from
    JSON, five timestamps converted) cost more to build than the read itself (issue 13). Whether
    the address may still be sent to is read right before sending (store/deliveries.py
    ``read_held``), not here.
    """

    id: int
    email: str
    bounce_count: int


def get_recipients(conn: Connection, subscriber_ids: Sequence[int]) -> dict[int, Recipient]:
    """The recipients of these subscribers by id; ids not found (erased) are left out."""
    found: dict[int, Recipient] = {}
    columns = (subscribers.c.id, subscribers.c.email, subscribers.c.bounce_count)
    for start in range(0, len(subscriber_ids), 5000):
        chunk = list(subscriber_ids[start : start + 5000])
        for subscriber_id, email, bounce_count in conn.execute(
            select(*columns).where(any_of(conn, subscribers.c.id, chunk))
        ):
            found[subscriber_id] = Recipient(subscriber_id, email, bounce_count)
    return found


def get_subscriber_by_email(conn: Connection, email: str) -> Subscriber | None:
    """One subscriber by (already normalised) address, or None."""
    row = conn.execute(select(subscribers).where(subscribers.c.email == email)).first()
    return to_subscriber(row) if row else None


def insert_subscriber(
    conn: Connection, email: str, preferences: Preferences, *, status: str, now: dt.datetime
) -> Subscriber | None:
    """Add an address; None when it is already on the list (the existing row is left alone)."""
    values = {
        "email": email,
        "status": status,
        "created_at": now,
        "confirmed_at": now if status == "confirmed" else None,
        "bounce_count": 0,
        **_preference_values(preferences),
    }
    if not insert_if_absent(conn, subscribers, values):
        return None
    return get_subscriber_by_email(conn, email)


def _followed_phrases(conn: Connection, subscriber_ids: Sequence[int]) -> list[str]:
    """The free-text topics these subscribers follow (what their stored topic vectors derive from)."""
    phrases: list[str] = []
    for start in range(0, len(subscriber_ids), 5000):
        chunk = list(subscriber_ids[start : start + 5000])
        for (value,) in conn.execute(select(subscribers.c.topics).where(any_of(conn, subscribers.c.id, chunk))):
            phrases.extend(Topics.from_json(value).phrases)
    return phrases


def write_preferences(conn: Connection, subscriber_id: int, preferences: Preferences) -> None:
    """Replace a subscriber's preferences; the vectors of topics they dropped and no one else follows go too."""
    before = _followed_phrases(conn, [subscriber_id])
    conn.execute(update(subscribers).where(subscribers.c.id == subscriber_id).values(**_preference_values(preferences)))
    dropped = set(before) - set(preferences.topics.phrases)
    if dropped:
        forget_topic_vectors(conn, dropped)


def write_confirmation_sent(conn: Connection, subscriber_id: int, when: dt.datetime | None) -> None:
    """Remember when the latest confirmation mail went out (None undoes a failed send)."""
    conn.execute(update(subscribers).where(subscribers.c.id == subscriber_id).values(confirmation_sent_at=when))


def confirm_subscriber(conn: Connection, subscriber_id: int, now: dt.datetime) -> bool:
    """Mark the address confirmed (also after an unsubscribe or bounces); False when already confirmed."""
    result = conn.execute(
        update(subscribers)
        .where(subscribers.c.id == subscriber_id, subscribers.c.status != "confirmed")
        .values(status="confirmed", confirmed_at=now, unsubscribed_at=None, bounce_count=0)
    )
    return result.rowcount == 1


def unsubscribe_subscriber(conn: Connection, subscriber_id: int, now: dt.datetime) -> bool:
    """Stop every mail to the address at once; False when it was already unsubscribed (idempotent)."""
    result = conn.execute(
        update(subscribers)
        .where(subscribers.c.id == subscriber_id, subscribers.c.status != "unsubscribed")
        .values(status="unsubscribed", unsubscribed_at=now)
    )
    return result.rowcount == 1


def delete_subscriber(conn: Connection, subscriber_id: int) -> bool:
    """Erase the address and its digest history (deliveries cascade; selections no one else got go too).

    A selection's "why" lines quote its readers' topics, so one left without a delivery row
    must not outlive the erasure (store/selections.py); nor must the stored vectors of topics
    no one else follows (store/topic_vectors.py).
    """
    selection_ids = list_subscriber_selection_ids(conn, [subscriber_id])
    phrases = _followed_phrases(conn, [subscriber_id])
    erased = conn.execute(delete(subscribers).where(subscribers.c.id == subscriber_id)).rowcount == 1
    delete_unused_selections(conn, selection_ids)
    forget_topic_vectors(conn, phrases)
    return erased


def delete_expired_pending(conn: Connection, created_before: dt.datetime) -> int:
    """Forget sign-ups never confirmed since ``created_before``; returns how many.

    Such an address never got a digest; its selections are dropped all the same, should a
    hand-edited database hold one.
    """
    expired = and_(
        subscribers.c.status == "pending",
        subscribers.c.confirmed_at.is_(None),
        subscribers.c.created_at < created_before,
    )
    ids = [int(subscriber_id) for subscriber_id in conn.execute(select(subscribers.c.id).where(expired)).scalars()]
    if not ids:
        return 0
    selection_ids = list_subscriber_selection_ids(conn, ids)
    phrases = _followed_phrases(conn, ids)
    result = conn.execute(delete(subscribers).where(expired))
    delete_unused_selections(conn, selection_ids)
    forget_topic_vectors(conn, phrases)
    return int(result.rowcount)


def write_bounce(conn: Connection, subscriber_id: int, *, limit: int, now: dt.datetime) -> bool:
    """Count one permanent failure; True when the address just reached ``limit`` and stops receiving."""
    conn.execute(
        update(subscribers).where(subscribers.c.id == subscriber_id).values(bounce_count=subscribers.c.bounce_count + 1)
    )
    result = conn.execute(
        update(subscribers)
        .where(
            subscribers.c.id == subscriber_id,
            subscribers.c.status == "confirmed",
            subscribers.c.bounce_count >= limit,
        )
        .values(status="bouncing", unsubscribed_at=now)
    )
    return result.rowcount == 1


def reset_bounces(conn: Connection, subscriber_id: int) -> None:
    """A delivery went through: earlier bounces no longer count against the address."""
    conn.execute(
        update(subscribers)
        .where(subscribers.c.id == subscriber_id, subscribers.c.bounce_count > 0)
        .values(bounce_count=0)
    )


@dataclass(frozen=True, slots=True)
class LastDigestRows:
    """Subscribers' latest planned slots as the driver takes them (``bind_last_digest``), ready before a transaction."""

    rows: tuple[tuple[Any, int], ...] = ()

    def only(self, subscriber_ids: Collection[int]) -> LastDigestRows:
        """The rows of these subscribers alone (those whose delivery row a batch created)."""
        wanted = set(subscriber_ids)
        return LastDigestRows(tuple(row for row in self.rows if row[1] in wanted))


def bind_last_digest(dialect: Dialect, slots: Sequence[tuple[int, dt.datetime]]) -> LastDigestRows:
    """Each (subscriber, slot as a UTC instant) bound as ``subscribers.last_digest_at`` binds it.

    Done before planning's write transaction, which on SQLite holds off the delivery processes'
    records: formatting 500 instants is then not part of it (issue 13).
    """
    bind = subscribers.c.last_digest_at.type.dialect_impl(dialect).bind_processor(dialect)
    return LastDigestRows(
        tuple((bind(when) if bind is not None else when, subscriber_id) for subscriber_id, when in slots)
    )


def write_last_digest(conn: Connection, slots: LastDigestRows) -> None:
    """Record the slot of each subscriber's latest planned digest, in one batch.

    Straight to the driver: SQLAlchemy's per-row parameter processing cost more than the update
    itself, inside planning's write transaction (issue 13). On PostgreSQL one UPDATE joined to the
    slots as arrays; the driver's executemany is one UPDATE per subscriber for the server.
    """
    if not slots.rows:
        return
    column = subscribers.c.last_digest_at.name
    if conn.dialect.name == "postgresql":
        instants, ids = (list(values) for values in zip(*slots.rows, strict=True))
        conn.exec_driver_sql(
            f"UPDATE {subscribers.name} SET {column} = slot.instant "
            "FROM unnest(%s::timestamptz[], %s::integer[]) AS slot(instant, id) "
            f"WHERE {subscribers.name}.id = slot.id",
            (instants, ids),
        )
        return
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    conn.exec_driver_sql(f"UPDATE {subscribers.name} SET {column} = {mark} WHERE id = {mark}", list(slots.rows))


def list_subscribers(
    conn: Connection, *, statuses: Iterable[str] = (), after_id: int = 0, limit: int = 1000
) -> list[Subscriber]:
    """Subscribers in id order after ``after_id`` (keyset paging), optionally of some statuses.

    ``conn`` must be in a transaction (not autocommit): the page is read from the primary key in
    order whatever the statistics say (store/index_order.py).
    """
    keep_index_order(conn)
    statement = select(*LISTED_COLUMNS).where(subscribers.c.id > after_id)
    wanted = list(statuses)
    if wanted:
        statement = statement.where(subscribers.c.status.in_(wanted))
    statement = statement.order_by(subscribers.c.id).limit(limit)
    return [to_subscriber(row) for row in conn.execute(statement)]


def count_subscribers(conn: Connection) -> dict[str, int]:
    """How many addresses are in each status."""
    rows = conn.execute(select(subscribers.c.status, func.count()).group_by(subscribers.c.status))
    counts = dict.fromkeys(STATUSES, 0)
    counts.update({str(status): int(count) for status, count in rows})
    return counts
