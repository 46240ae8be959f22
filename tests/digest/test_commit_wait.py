"""A delivery worker's commits do not wait for the disk, and its connection goes back to the pool as it came
(issue 13; store/deliveries.py ``set_commit_wait``): on PostgreSQL by its own session setting, on SQLite by
every connection's ``synchronous=NORMAL`` (store/engine.py), which the PostgreSQL setting matches."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine

from papertide.digest.outcome import Outcomes
from papertide.digest.policy import DigestPolicy
from tests.digest.digest_data import NOW


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
