"""Database engines: SQLite with WAL and a busy timeout, or a pooled PostgreSQL."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

SQLITE_BUSY_TIMEOUT_MS = 30_000


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
    # IMMEDIATE takes the write lock at BEGIN: two writers then queue on busy_timeout instead of
    # failing with "database is locked" when a read transaction tries to upgrade.
    connection.exec_driver_sql("BEGIN IMMEDIATE" if connection.info.get("write") else "BEGIN")


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
