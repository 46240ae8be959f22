"""Database engines: SQLite with WAL and a busy timeout, or a pooled PostgreSQL."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

SQLITE_BUSY_TIMEOUT_MS = 30_000
# How a writer waits for SQLite's write lock (begin_immediate): tries this far apart at first,
# doubling up to the longest. SQLite's own busy handler sleeps 1, 2, 5, 10, 15, 20, 25, 25, 25,
# 50, 50, 100 ms between tries, so a writer queued behind a 40 ms write wakes up to 20 ms after
# the lock is free; with many short writes from several processes (a digest run's planner and
# its delivery helpers) that idle time added up to a sixth of the run.
WRITE_LOCK_FIRST_WAIT_S = 0.000_05
WRITE_LOCK_LONGEST_WAIT_S = 0.001


# A web process runs up to 40 requests at once (Starlette's worker threads), and a request can hold
# its connection while it waits for a second one (opening the semantic index reads the database):
# with fewer connections than that, a burst of requests deadlocks until the pool times out (issue 9,
# bench/load.py). Connections are opened only when needed, so the ceiling costs nothing when idle.
POOL_SIZE = 10
POOL_OVERFLOW = 50


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """Create an engine for the URL; nothing connects until first use."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        private = bool(database) and database != ":memory:" and not str(database).startswith("file:")
        if private:
            Path(str(database)).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # A file database gets a queue pool sized as below; ":memory:" keeps SQLAlchemy's own pool.
        pool: dict[str, int] = {"pool_size": POOL_SIZE, "max_overflow": POOL_OVERFLOW} if private else {}
        engine = create_engine(
            url,
            echo=echo,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
            **pool,
        )
        if private:
            # At the first connection, not here: building an engine touches no file (services.py).
            event.listen(engine, "do_connect", partial(_create_private, Path(str(database))))
        event.listen(engine, "connect", _configure_sqlite)
        event.listen(engine, "begin", _begin_sqlite)
        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True, pool_size=POOL_SIZE, max_overflow=POOL_OVERFLOW)


def single_statement_reads(engine: Engine) -> Engine:
    """The engine for reads of one statement each on every request (a search's freshness checks).

    On PostgreSQL each use of a pooled connection costs four round trips: the pool's ping, BEGIN,
    the statement and ROLLBACK. A single statement is its own consistent snapshot, so these reads
    run in autocommit (psycopg sets it on the client side): the ping and the statement, two round
    trips. SQLite has no round trips and keeps its own BEGIN handling: the engine itself.
    """
    if engine.dialect.name != "postgresql":
        return engine
    return engine.execution_options(isolation_level="AUTOCOMMIT")


def _create_private(database: Path, *_connect_arguments: Any) -> None:
    """Create the database file owner-only (0600) before SQLite does (its -wal and -shm files copy the mode).

    It holds every subscriber's address and the sign-in tokens; SQLite would create it
    world-readable under the usual umask.
    """
    with contextlib.suppress(FileExistsError):
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # The sqlite3 module's own transaction handling is switched off so that SQLAlchemy's
    # "begin" hook below decides; otherwise SAVEPOINTs and BEGIN IMMEDIATE misbehave.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    # Deleted rows are overwritten with zeros, not left in free space: erasing a subscriber must
    # take their address and topics out of the file (docs/digest.md, "Erasure"). Debian's SQLite
    # has this on by default; other builds (the python.org one) do not.
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


def _begin_sqlite(connection: Any) -> None:
    # IMMEDIATE takes the write lock at BEGIN: two writers then queue for it instead of failing
    # with "database is locked" when a read transaction tries to upgrade.
    if not connection.info.get("write"):
        connection.exec_driver_sql("BEGIN")
        return
    driver = connection.connection.driver_connection
    # The waits run on the driver (microseconds each); the last try, at the deadline, goes through
    # SQLAlchemy so that its "database is locked" arrives wrapped, as store/busy.py expects.
    begin_immediate(driver.execute, last_try=connection.exec_driver_sql)


def begin_immediate(
    execute: Callable[[str], object],
    *,
    last_try: Callable[[str], object] | None = None,
    clock: Callable[[], float] | None = None,
    sleep: Callable[[float], None] | None = None,
) -> None:
    """``BEGIN IMMEDIATE`` on a SQLite connection, waiting for the write lock at most ~1 ms late.

    SQLite's busy handler (``busy_timeout``) sleeps up to 100 ms between tries; here the
    connection's timeout is set to 0 for the BEGIN alone and the tries are 50 µs to 1 ms apart,
    until ``SQLITE_BUSY_TIMEOUT_MS`` has passed: then the error is SQLite's own "database is
    locked", as before. The timeout is set back for the statements that follow (a checkpoint or
    a reader may still wait on it).

    :param execute: runs one SQL statement on the connection (the driver's, for speed).
    :param last_try: runs the try at the deadline instead of ``execute`` (to get its error wrapped).
    :param clock: and ``sleep``: ``time.monotonic`` and ``time.sleep`` unless given (tests inject them).
    """
    clock = clock or time.monotonic
    sleep = sleep or time.sleep
    execute("PRAGMA busy_timeout=0")
    try:
        deadline = clock() + SQLITE_BUSY_TIMEOUT_MS / 1000
        wait = WRITE_LOCK_FIRST_WAIT_S
        while True:
            if clock() >= deadline:
                (last_try or execute)("BEGIN IMMEDIATE")
                return
            try:
                execute("BEGIN IMMEDIATE")
                return
            except Exception as error:  # the driver's OperationalError, whichever driver module
                if "database is locked" not in str(error):
                    raise
            sleep(wait)
            wait = min(2 * wait, WRITE_LOCK_LONGEST_WAIT_S)
    finally:
        execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")


@contextmanager
def begin_write(engine: Engine) -> Iterator[Connection]:
    """A write transaction; on SQLite it takes the write lock up front (BEGIN IMMEDIATE)."""
    with engine.connect() as conn:
        conn.info["write"] = True
        try:
            with conn.begin():
                yield conn
        finally:
            # info belongs to the pooled DBAPI connection: left set, every later read on it
            # would take the write lock too, and two connections of one request would deadlock.
            conn.info.pop("write", None)
