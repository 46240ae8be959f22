"""Consistent backups of the database while the service runs, and restores.

SQLite uses the online backup API (a consistent copy even with writers active). PostgreSQL
uses pg_dump's custom format. Search indexes are not backed up: they are rebuilt from the
database (`papertide reindex`), which is the source of truth.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from papertide.domain.errors import PapertideError


def _sqlite_path(engine: Engine) -> Path:
    database = engine.url.database
    if not database or database == ":memory:":
        raise PapertideError("an in-memory database cannot be backed up")
    return Path(database)


def _plain_url(engine: Engine) -> str:
    """The URL as libpq understands it (no SQLAlchemy driver suffix)."""
    return make_url(engine.url).set(drivername="postgresql").render_as_string(hide_password=False)


def write_backup(engine: Engine, target: Path) -> Path:
    """Write a consistent copy of the database to ``target`` (overwriting it atomically)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.partial")
    if engine.dialect.name == "sqlite":
        source = sqlite3.connect(_sqlite_path(engine))
        destination = sqlite3.connect(temporary)
        try:
            with destination:
                source.backup(destination)
        finally:
            destination.close()
            source.close()
    else:
        pg_dump = shutil.which("pg_dump")
        if pg_dump is None:
            raise PapertideError("pg_dump is not on PATH: install the PostgreSQL client tools")
        completed = subprocess.run(
            [pg_dump, "--format=custom", "--no-owner", f"--file={temporary}", _plain_url(engine)],
            capture_output=True,
            text=True,
            check=False,
        )
        if completed.returncode != 0:
            temporary.unlink(missing_ok=True)
            raise PapertideError(f"pg_dump failed: {completed.stderr.strip()}")
    os.replace(temporary, target)
    return target


def restore_backup(engine: Engine, source: Path) -> None:
    """Replace the database's contents with a backup made by :func:`write_backup`.

    Stop the web and worker processes first. On SQLite the backup is checked to be a papertide
    database before anything is replaced, and the swap is atomic.
    """
    if not source.is_file():
        raise PapertideError(f"{source}: no such backup file")
    if engine.dialect.name == "sqlite":
        _check_sqlite_backup(source)
        engine.dispose()
        target = _sqlite_path(engine)
        temporary = target.with_name(f".{target.name}.restoring")
        shutil.copyfile(source, temporary)
        for suffix in ("-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        os.replace(temporary, target)
        return
    pg_restore = shutil.which("pg_restore")
    if pg_restore is None:
        raise PapertideError("pg_restore is not on PATH: install the PostgreSQL client tools")
    completed = subprocess.run(
        [pg_restore, "--clean", "--if-exists", "--no-owner", f"--dbname={_plain_url(engine)}", str(source)],
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise PapertideError(f"pg_restore failed: {completed.stderr.strip()}")


def _check_sqlite_backup(source: Path) -> None:
    try:
        connection = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            integrity = connection.execute("PRAGMA quick_check").fetchone()[0]
        finally:
            connection.close()
    except sqlite3.DatabaseError as error:
        raise PapertideError(f"{source}: not a SQLite database ({error})") from None
    if not {"alembic_version", "papers"} <= tables:
        raise PapertideError(f"{source}: not a papertide database (no papers or alembic_version table)")
    if integrity != "ok":
        raise PapertideError(f"{source}: the backup is damaged ({integrity})")
