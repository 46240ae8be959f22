"""A delivery worker's commits skip the wait for the disk on PostgreSQL, and its connection goes back to the
pool as it came (issue 13; store/deliveries.py ``set_commit_wait``)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, create_engine

from papertide.digest.outcome import Outcomes
from papertide.digest.policy import DigestPolicy
from tests.digest.digest_data import NOW


def test_a_workers_commits_skip_the_flush_and_its_connection_goes_back_to_the_pool_as_it_came(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite's delivery commits without a flush already (WAL, synchronous=NORMAL)")
    # One pooled connection: the worker's, then the next user's.
    single = create_engine(engine.url, pool_size=1, max_overflow=0)
    try:
        with single.connect() as conn:
            before = conn.exec_driver_sql("SHOW synchronous_commit").scalar()
        outcomes = Outcomes(single, policy=DigestPolicy(), worker="worker-a", clock=lambda: NOW)
        with outcomes.write() as conn:
            during = conn.exec_driver_sql("SHOW synchronous_commit").scalar()
        outcomes.close()
        with single.connect() as conn:
            after = conn.exec_driver_sql("SHOW synchronous_commit").scalar()
    finally:
        single.dispose()
    assert (before, during, after) == ("on", "off", "on")
