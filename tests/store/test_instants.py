"""Timestamps are instants: one given in any time zone reads back as the same moment, on SQLite as on PostgreSQL."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, Engine, select, update

from papertide.store.engine import begin_write
from papertide.store.schema import Instant, metadata, subscribers
from papertide.store.subscribers import bind_last_digest, get_subscriber, write_last_digest
from tests.digest.digest_data import add_subscriber

BERLIN_SUMMER = dt.timezone(dt.timedelta(hours=2))
NEW_YORK_WINTER = dt.timezone(dt.timedelta(hours=-5))


def test_an_instant_given_in_another_zone_reads_back_as_the_same_moment(engine: Engine) -> None:
    subscriber = add_subscriber(engine, "zone@example.org")
    slot = dt.datetime(2026, 8, 20, 9, 0, tzinfo=BERLIN_SUMMER)  # 07:00 UTC
    confirmed = dt.datetime(2026, 1, 5, 23, 30, 15, 250000, tzinfo=NEW_YORK_WINTER)  # 04:30:15.25 UTC, next day
    with begin_write(engine) as conn:
        # Planning's batch write binds through the column's type; an ordinary UPDATE through SQLAlchemy.
        write_last_digest(conn, bind_last_digest(conn.dialect, [(subscriber.id, slot)]))
        conn.execute(update(subscribers).where(subscribers.c.id == subscriber.id).values(confirmed_at=confirmed))
    with engine.connect() as conn:
        read = get_subscriber(conn, subscriber.id)
        stored = conn.execute(select(subscribers.c.confirmed_at).where(subscribers.c.id == subscriber.id)).scalar_one()
    assert read is not None
    assert read.last_digest_at == slot
    assert read.last_digest_at is not None and read.last_digest_at.hour == 7
    assert (stored if stored.tzinfo else stored.replace(tzinfo=dt.UTC)) == confirmed


def test_every_timestamp_column_of_the_schema_stores_instants() -> None:
    # A new column declared as a plain DateTime would bring the SQLite clock-reading bug back.
    plain = [
        f"{table.name}.{column.name}"
        for table in metadata.tables.values()
        for column in table.columns
        if isinstance(column.type, DateTime) and not isinstance(column.type, Instant)
    ]
    instants = [
        column for table in metadata.tables.values() for column in table.columns if isinstance(column.type, Instant)
    ]
    assert plain == []
    assert len(instants) > 40
