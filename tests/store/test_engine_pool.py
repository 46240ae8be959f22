"""The connection pool is larger than the web process's worker threads (issue 9, bench/load.py).

With 5 + 10 connections and Starlette's 40 worker threads, a burst of 50 clients held every
connection while the first searches waited for one more (opening the semantic index reads the
database): the server stalled until the pool timed out.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.pool import QueuePool

from papertide.store.engine import make_engine

# anyio's default thread limiter, which Starlette runs sync endpoints on.
WEB_WORKER_THREADS = 40


def test_a_file_database_pool_holds_more_connections_than_the_web_worker_threads(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'papertide.db'}")
    pool = engine.pool
    assert isinstance(pool, QueuePool)
    assert pool.size() + pool._max_overflow > WEB_WORKER_THREADS
    engine.dispose()


def test_an_in_memory_database_keeps_sqlalchemys_own_pool() -> None:
    engine = make_engine("sqlite:///:memory:")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("select 1").scalar() == 1
    engine.dispose()
