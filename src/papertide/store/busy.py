"""Telling a database that is busy (retry soon) from one that is broken (a bug to fix).

A writer holding SQLite's lock past the busy timeout, a PostgreSQL lock timeout, a
serialization failure, a deadlock victim, a full connection pool or a server that is
restarting all mean "try again shortly": the web answers them with 503 and ``Retry-After``
instead of a 500 (issue 9), and the CLI with a message instead of a traceback.
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

# SQLite's messages for a lock it could not get within busy_timeout.
_SQLITE_BUSY = ("database is locked", "database table is locked", "database is busy")
# PostgreSQL SQLSTATEs: lock_not_available, serialization_failure, deadlock_detected,
# too_many_connections, admin/crash shutdown, cannot_connect_now; class 08 is "connection exception".
_POSTGRES_BUSY = frozenset({"55P03", "40001", "40P01", "53300", "57P01", "57P02", "57P03"})
RETRY_AFTER_SECONDS = 5


def is_database_busy(error: BaseException) -> bool:
    """Whether ``error`` says the database is locked, overloaded or unreachable for now."""
    if isinstance(error, PoolTimeout):
        return True
    if not isinstance(error, DBAPIError):
        return False
    original = error.orig
    state = getattr(original, "sqlstate", None)
    if isinstance(state, str):
        return state in _POSTGRES_BUSY or state.startswith("08")
    if error.connection_invalidated:
        return True
    message = str(original).lower()
    if any(text in message for text in _SQLITE_BUSY):
        return True
    # psycopg reports a refused or dropped connection as an OperationalError without a SQLSTATE.
    return isinstance(error, OperationalError) and type(original).__module__.startswith("psycopg")
