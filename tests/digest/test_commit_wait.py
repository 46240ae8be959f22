"""A delivery worker's commits do not wait for the disk, and its connection goes back to the pool as it came
(issue 13; store/deliveries.py ``set_commit_wait``): on PostgreSQL by its own session setting, on SQLite by
every connection's ``synchronous=NORMAL`` (store/engine.py), which the PostgreSQL setting matches."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, create_engine, select, update

from papertide.digest.outcome import Outcomes
from papertide.digest.plan import run_planning
from papertide.digest.policy import DigestPolicy
from papertide.store.deliveries import claim_batch
from papertide.store.engine import begin_write
from papertide.store.schema import subscribers
from tests.digest.digest_data import NOW, add_subscriber, make_paper, store_papers


def test_a_workers_commits_skip_the_flush_and_its_connection_goes_back_to_the_pool_as_it_came(engine: Engine) -> None:
    if engine.dialect.name == "sqlite":
        pooled, show, expected = engine, "PRAGMA synchronous", (1, 1, 1)  # 1: NORMAL, WAL commits not flushed
    else:
        # One pooled connection: the worker's, then the next user's.
        pooled = create_engine(engine.url, pool_size=1, max_overflow=0)
        show, expected = "SHOW synchronous_commit", ("on", "off", "on")
    try:
        with pooled.connect() as conn:
            before = conn.exec_driver_sql(show).scalar()
        outcomes = Outcomes(pooled, policy=DigestPolicy(), worker="worker-a", clock=lambda: NOW)
        with outcomes.write() as conn:
            during = conn.exec_driver_sql(show).scalar()
        outcomes.close()
        with pooled.connect() as conn:
            after = conn.exec_driver_sql(show).scalar()
    finally:
        if pooled is not engine:
            pooled.dispose()
    assert (before, during, after) == expected


def test_after_the_per_message_check_a_write_is_one_transaction_again_and_the_connection_goes_back_as_it_came(
    engine: Engine,
) -> None:
    # On PostgreSQL the check keeps its connection in autocommit from one message to the next
    # (store/deliveries.py HeldCheck): a write that fails part-way must still undo all it did.
    store_papers(engine, [make_paper(i, upvotes=i) for i in range(1, 4)])
    readers = [add_subscriber(engine, f"reader{i}@example.org") for i in range(3)]
    run_planning(engine, now=NOW, policy=DigestPolicy(), message_id=lambda period, sid: f"<{period}.{sid}@x>")
    with begin_write(engine) as conn:
        first, second, third = claim_batch(conn, "worker-a", NOW, 3)
    pooled = create_engine(engine.url, pool_size=1, max_overflow=0) if engine.dialect.name != "sqlite" else engine
    try:
        outcomes = Outcomes(pooled, policy=DigestPolicy(), worker="worker-a", clock=lambda: NOW)
        assert outcomes.check_held(first) == "confirmed"  # the first also refreshes the claims: a write
        assert outcomes.check_held(second) == "confirmed"  # the per-message statement alone
        assert outcomes.check_held(third) == "confirmed"
        leaving = subscribers.c.id == readers[0].id
        with pytest.raises(RuntimeError, match="part-way"), outcomes.write() as conn:
            conn.execute(update(subscribers).where(leaving).values(status="unsubscribed"))
            raise RuntimeError("failed part-way")
        outcomes.close()
        with pooled.connect() as conn:
            assert conn.execute(select(subscribers.c.status).where(leaving)).scalar_one() == "confirmed"
            driver = conn.connection.driver_connection
            assert getattr(driver, "autocommit", False) is False  # psycopg's switch; sqlite3 has none here
    finally:
        if pooled is not engine:
            pooled.dispose()
