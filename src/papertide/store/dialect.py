"""The one place that tells SQLite from PostgreSQL for ``INSERT ... ON CONFLICT``.

Both SQLite (3.35+) and PostgreSQL understand ``INSERT ... ON CONFLICT DO NOTHING | DO UPDATE``
with ``RETURNING``, but SQLAlchemy spells it through each dialect's own ``insert``; every
module that upserts asks :func:`insert_for` instead of choosing itself, so a third database
fails here, with one clear message, rather than silently getting SQLite's statement.

:func:`insert_if_absent` loses gracefully to a concurrent or earlier insert of the same key: a
returned row says this insert created it (the row count is no help: with RETURNING, psycopg
reports -1). On PostgreSQL a second transaction inserting the same key waits for the first to
finish and then does nothing, so the answer stays right under concurrency without catching errors.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite

from papertide.domain.errors import PapertideError


def insert_for(conn: Connection, table: Table) -> postgresql.Insert | sqlite.Insert:
    """An INSERT into ``table`` in the connection's dialect, which offers ``on_conflict_do_*``.

    Raises PapertideError for a database other than SQLite or PostgreSQL.
    """
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    if conn.dialect.name == "sqlite":
        return sqlite.insert(table)
    raise PapertideError(f"papertide supports SQLite and PostgreSQL, not {conn.dialect.name!r}")


def insert_if_absent(conn: Connection, table: Table, values: dict[str, Any]) -> bool:
    """Insert one row unless one with the same unique key exists; True when this call inserted it."""
    statement = insert_for(conn, table).values(values).on_conflict_do_nothing()
    return conn.execute(statement.returning(*table.primary_key.columns)).first() is not None
