"""Migration 0013: planning's ``last_digest_at`` updates are HOT on PostgreSQL; the period key index goes (issue 13)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, inspect, text

from papertide.domain.subscribers import Preferences, Topics
from papertide.store.engine import begin_write, make_engine
from papertide.store.migrate import current_revision, downgrade_database, head_revision, upgrade_database
from papertide.store.subscribers import bind_last_digest, insert_subscriber, write_last_digest

NOW = dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.UTC)
BEFORE = "0012_topic_vectors"
PERIOD_INDEX = "ix_digest_outbox_period_key"
# Enough rows for several full pages: the rows of a page are updated in one transaction, as planning does.
SUBSCRIBERS = 600


def _outbox_indexes(engine: Engine) -> set[str]:
    return {str(index["name"]) for index in inspect(engine).get_indexes("digest_outbox")}


def _fillfactor(engine: Engine) -> str | None:
    with engine.connect() as conn:
        options = conn.execute(text("SELECT reloptions FROM pg_class WHERE relname = 'subscribers'")).scalar_one()
    return next((option for option in options or () if option.startswith("fillfactor=")), None)


def _add_subscribers(engine: Engine) -> list[int]:
    topics = Topics(categories=("cs.LG", "stat.ML"), phrases=("neural ordinary differential equations",))
    ids: list[int] = []
    with begin_write(engine) as conn:
        for number in range(SUBSCRIBERS):
            added = insert_subscriber(
                conn, f"reader{number}@example.org", Preferences(topics=topics), status="confirmed", now=NOW
            )
            assert added is not None
            ids.append(added.id)
    return ids


def _hot_updates_of_last_digest(engine: Engine, ids: list[int]) -> tuple[int, int]:
    """(updated, of them HOT) for one planning-like write of every subscriber's ``last_digest_at``."""
    slots = bind_last_digest(engine.dialect, [(subscriber_id, NOW) for subscriber_id in ids])
    # The backend's counts not yet reported to the statistics (they may span earlier transactions): a difference.
    counts = text(
        "SELECT pg_stat_get_xact_tuples_updated(oid), pg_stat_get_xact_tuples_hot_updated(oid) "
        "FROM pg_class WHERE relname = 'subscribers'"
    )
    with begin_write(engine) as conn:
        updated, hot = conn.execute(counts).one()
        write_last_digest(conn, slots)
        updated_after, hot_after = conn.execute(counts).one()
    return int(updated_after - updated), int(hot_after - hot)


@pytest.fixture
def postgres_engine(empty_postgres_url: str) -> Iterator[Engine]:
    built = make_engine(empty_postgres_url)
    upgrade_database(built)
    yield built
    built.dispose()


def test_the_period_key_index_goes_at_0013_and_comes_back_on_downgrade(engine: Engine) -> None:
    assert PERIOD_INDEX not in _outbox_indexes(engine)
    downgrade_database(engine, BEFORE)
    assert current_revision(engine) == BEFORE
    assert PERIOD_INDEX in _outbox_indexes(engine)
    upgrade_database(engine)
    assert current_revision(engine) == head_revision()
    assert PERIOD_INDEX not in _outbox_indexes(engine)


def test_postgresql_keeps_half_of_each_subscribers_page_free_until_downgraded(postgres_engine: Engine) -> None:
    assert _fillfactor(postgres_engine) == "fillfactor=50"
    downgrade_database(postgres_engine, BEFORE)
    assert _fillfactor(postgres_engine) is None
    upgrade_database(postgres_engine)
    assert _fillfactor(postgres_engine) == "fillfactor=50"


def test_nearly_every_last_digest_update_of_a_planning_batch_is_hot_day_after_day(postgres_engine: Engine) -> None:
    ids = _add_subscribers(postgres_engine)
    # The next day's run finds the pages pruned of the old versions, or prunes them: HOT again.
    for _day in range(3):
        updated, hot = _hot_updates_of_last_digest(postgres_engine, ids)
        assert updated == SUBSCRIBERS
        # A page filled to just under half may lack the room for its last row's new version (and its line pointer).
        assert hot >= SUBSCRIBERS - SUBSCRIBERS // 20


def test_before_0013_most_last_digest_updates_were_not_hot(postgres_engine: Engine) -> None:
    downgrade_database(postgres_engine, BEFORE)
    ids = _add_subscribers(postgres_engine)
    updated, hot = _hot_updates_of_last_digest(postgres_engine, ids)
    assert updated == SUBSCRIBERS
    assert hot < SUBSCRIBERS // 4, "full pages: the new versions went to other pages"
