"""Migration 0012 adds the stored topic vectors; the downgrade drops them and leaves everything else (issue 13)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, inspect, select

from papertide.domain.subscribers import Preferences, Topics
from papertide.store.engine import begin_write
from papertide.store.migrate import current_revision, downgrade_database, head_revision, upgrade_database
from papertide.store.schema import subscribers
from papertide.store.subscribers import delete_subscriber, insert_subscriber
from papertide.store.topic_vectors import read_topic_vectors, topic_vector_key, write_topic_vectors

NOW = dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.UTC)
BEFORE = "0011_drop_outbox_state_index"
SPACE = "s" * 64


def test_topic_vectors_go_down_to_0011_and_come_back_empty_and_working(engine: Engine) -> None:
    key = topic_vector_key("ocean waves")
    with begin_write(engine) as conn:
        reader = insert_subscriber(
            conn, "a@example.org", Preferences(topics=Topics(phrases=("ocean waves",))), status="confirmed", now=NOW
        )
        write_topic_vectors(conn, SPACE, {key: b"\1" * 16}, NOW)
    assert reader is not None

    downgrade_database(engine, BEFORE)
    assert current_revision(engine) == BEFORE
    assert "topic_vectors" not in inspect(engine).get_table_names()
    with engine.connect() as conn:
        assert conn.execute(select(subscribers.c.email)).scalars().all() == ["a@example.org"]

    upgrade_database(engine)
    assert current_revision(engine) == head_revision()
    with engine.connect() as conn:
        assert read_topic_vectors(conn, SPACE, [key]) == {}, "derived data: the next run embeds again"
    with begin_write(engine) as conn:
        write_topic_vectors(conn, SPACE, {key: b"\2" * 16}, NOW)
        write_topic_vectors(conn, SPACE, {key: b"\3" * 16}, NOW)  # written again: replaced, not doubled
    with engine.connect() as conn:
        assert read_topic_vectors(conn, SPACE, [key, topic_vector_key("other")]) == {key: b"\3" * 16}
    with begin_write(engine) as conn:
        assert delete_subscriber(conn, reader.id)
    with engine.connect() as conn:
        assert read_topic_vectors(conn, SPACE, [key]) == {}
