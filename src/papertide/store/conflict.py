"""Inserts that lose gracefully to a concurrent or earlier insert of the same key.

Both SQLite (3.35+) and PostgreSQL understand ``INSERT ... ON CONFLICT DO NOTHING RETURNING``:
a returned row says this insert created it (the row count is no help: with RETURNING, psycopg
reports -1). On PostgreSQL a second transaction inserting the same key waits for the first to
finish and then does nothing, so the answer stays right under concurrency without catching errors.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite

from papertide.domain.errors import PapertideError


def insert_if_absent(conn: Connection, table: Table, values: dict[str, Any]) -> bool:
    """Insert one row unless one with the same unique key exists; True when this call inserted it."""
    statement: Any
    if conn.dialect.name == "postgresql":
        statement = postgresql.insert(table).values(values).on_conflict_do_nothing()
    elif conn.dialect.name == "sqlite":
        statement = sqlite.insert(table).values(values).on_conflict_do_nothing()
    else:
        raise PapertideError(f"papertide supports SQLite and PostgreSQL, not {conn.dialect.name!r}")
    return conn.execute(statement.returning(*table.primary_key.columns)).first() is not None


def as_utc(value: dt.datetime) -> dt.datetime:
    """An aware UTC datetime; SQLite hands back naive ones, which papertide always writes in UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)
