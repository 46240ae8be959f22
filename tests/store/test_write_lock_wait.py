"""A SQLite writer waits for the write lock in short steps, not SQLite's busy handler (issue 13).

SQLite's own handler sleeps up to 100 ms between tries, so a writer queued behind another's
short write woke long after the lock was free. ``begin_immediate`` tries again 50 µs to 1 ms
apart until the busy timeout, then fails as before. The waits are observed through an injected
sleep and clock (no timing in the test): the lock is released by the test at a chosen try.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from papertide.store import engine as engine_module
from papertide.store.busy import is_database_busy
from papertide.store.engine import begin_immediate, begin_write, make_engine


@pytest.fixture
def database(tmp_path: Path) -> Iterator[tuple[Engine, Path]]:
    path = tmp_path / "lock.db"
    engine = make_engine(f"sqlite:///{path}")
    with begin_write(engine) as conn:
        conn.execute(text("CREATE TABLE t (n INTEGER)"))
    yield engine, path
    engine.dispose()


def _holder(path: Path) -> sqlite3.Connection:
    """Another connection holding the write lock until the test lets go."""
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("INSERT INTO t VALUES (1)")
    return holder


def test_a_queued_writer_takes_the_lock_at_the_first_short_try_after_it_is_free(
    database: tuple[Engine, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, path = database
    holder = _holder(path)
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 6:
            holder.execute("COMMIT")

    monkeypatch.setattr(engine_module.time, "sleep", sleep)
    # Before this change the BEGIN waited in SQLite's busy handler: the injected sleep was never
    # called and the holder never let go, so the write failed after the whole busy timeout.
    monkeypatch.setattr(engine_module, "SQLITE_BUSY_TIMEOUT_MS", 2_000)
    with begin_write(engine) as conn:
        conn.execute(text("INSERT INTO t VALUES (2)"))
        timeout = conn.exec_driver_sql("PRAGMA busy_timeout").scalar()
    holder.close()
    assert waits == [0.000_05, 0.000_1, 0.000_2, 0.000_4, 0.000_8, 0.001]
    assert timeout == 2_000  # set back for the statements after the BEGIN
    with engine.connect() as conn:
        assert sorted(conn.execute(text("SELECT n FROM t")).scalars()) == [1, 2]


def test_a_writer_that_never_gets_the_lock_fails_as_sqlite_would_and_is_told_busy(
    database: tuple[Engine, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, path = database
    holder = _holder(path)
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    monkeypatch.setattr(engine_module.time, "sleep", sleep)
    monkeypatch.setattr(engine_module.time, "monotonic", lambda: now[0])
    try:
        with pytest.raises(Exception) as raised, begin_write(engine) as conn:
            conn.execute(text("INSERT INTO t VALUES (2)"))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert is_database_busy(raised.value)  # wrapped by SQLAlchemy: the web answers 503 (store/busy.py)
    assert now[0] >= engine_module.SQLITE_BUSY_TIMEOUT_MS / 1000
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == engine_module.SQLITE_BUSY_TIMEOUT_MS


def test_other_errors_of_the_begin_are_not_waited_on(tmp_path: Path) -> None:
    connection = sqlite3.connect(tmp_path / "x.db", isolation_level=None)
    connection.execute("BEGIN")  # already in a transaction: BEGIN fails at once, not "locked"
    statements: list[str] = []

    def execute(sql: str) -> object:
        statements.append(sql)
        return connection.execute(sql)

    with pytest.raises(sqlite3.OperationalError, match="within a transaction"):
        begin_immediate(execute, sleep=lambda seconds: pytest.fail("waited on an error that is not a lock"))
    assert statements == ["PRAGMA busy_timeout=0", "BEGIN IMMEDIATE", "PRAGMA busy_timeout=30000"]
    connection.close()
