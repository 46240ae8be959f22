"""Opening the two ends of ``papertide migrate-to``: the SQLite source and the PostgreSQL target.

Both are checked before a row moves, each with a one-line reason when refused: the source must
be a papertide database at this version's schema (looked at read-only first, so a wrong file is
never touched); the target URL must name a PostgreSQL database that answers, and that database
must be empty (it is given the schema here) or already at this version's schema.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, inspect
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from papertide.store.engine import make_engine
from papertide.store.migrate import current_revision, head_revision, upgrade_database
from papertide.store.schema import metadata
from papertide.store.sqlite_file import inspect_sqlite_file
from papertide.store.transfer import TransferError

EXAMPLE_URL = "postgresql+psycopg://user:password@host:5432/database"
# Seconds to wait for the target server to answer (an unreachable host would otherwise hang for minutes).
CONNECT_TIMEOUT_S = 10


def open_sqlite_source(url: str) -> Engine:
    """An engine on the SQLite installation at ``url``, once it is known to be papertide's at this schema."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        raise TransferError(
            f"migrate-to copies a SQLite installation, and this one is on {parsed.get_backend_name()} "
            "(copy PostgreSQL with pg_dump and pg_restore)"
        )
    database = parsed.database
    if not database or database == ":memory:" or database.startswith("file:"):
        raise TransferError(f"migrate-to needs a SQLite database file, not {database or 'an in-memory database'!r}")
    path = Path(database)
    revision = inspect_sqlite_file(path)
    head = head_revision()
    if revision != head:
        raise TransferError(
            f"{path}: schema {revision}, and this papertide writes {head}: "
            "run `papertide db upgrade` first (with the papertide version that wrote it, if newer)"
        )
    return make_engine(url)


def parse_target_url(text: str) -> URL:
    """The target's URL, with the psycopg driver; raises TransferError naming what is wrong with it."""
    try:
        url = make_url(text.strip())
    except (ArgumentError, ValueError):
        # ValueError: SQLAlchemy's parser lets a port that is not a number through to int().
        raise TransferError(f"{text!r} is not a database URL; expected {EXAMPLE_URL}") from None
    if url.get_backend_name() not in {"postgresql", "postgres"}:
        raise TransferError(f"the target must be a PostgreSQL database ({EXAMPLE_URL}), not {url.get_backend_name()}")
    if url.get_driver_name() not in {"psycopg", "postgresql", "postgres"}:
        raise TransferError(
            f"papertide talks to PostgreSQL through psycopg: write postgresql+psycopg://, not {url.drivername}://"
        )
    if not url.database:
        raise TransferError(f"the target URL names no database; expected {EXAMPLE_URL}")
    url = url.set(drivername="postgresql+psycopg")
    if "connect_timeout" not in url.query:
        url = url.update_query_dict({"connect_timeout": str(CONNECT_TIMEOUT_S)})
    return url


def open_postgres_target(text: str) -> Engine:
    """An engine on the target database, reached and at this version's schema (given it when empty)."""
    url = parse_target_url(text)
    shown = url.render_as_string(hide_password=True)
    engine = make_engine(url.render_as_string(hide_password=False))
    try:
        _prepare_schema(engine, shown)
    except DBAPIError as error:
        engine.dispose()
        reason = next((line.strip() for line in str(error.orig).splitlines() if line.strip()), type(error).__name__)
        raise TransferError(f"cannot use the target database {shown}: {reason}") from None
    except TransferError:
        engine.dispose()
        raise
    return engine


def _prepare_schema(engine: Engine, shown: str) -> None:
    revision = current_revision(engine)
    head = head_revision()
    if revision is None:
        present = sorted(set(inspect(engine).get_table_names()) & set(metadata.tables))
        if present:
            raise TransferError(
                f"the target database {shown} has papertide tables ({', '.join(present[:3])}, ...) but no schema "
                "version: choose an empty database"
            )
        upgrade_database(engine)
        return
    if revision != head:
        raise TransferError(
            f"the target database {shown} is at schema {revision}, and this papertide writes {head}: "
            "choose an empty database, or one upgraded with `papertide db upgrade`"
        )
