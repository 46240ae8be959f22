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
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from papertide.domain.errors import PapertideError
from papertide.store.files import sync_path
from papertide.store.sqlite_file import inspect_sqlite_file

# The files SQLite keeps beside a database while it is open.
_LIVE_SUFFIXES = ("", "-wal", "-shm", "-journal")


def _sqlite_path(engine: Engine) -> Path:
    database = engine.url.database
    if not database or database == ":memory:":
        raise PapertideError("an in-memory database cannot be backed up")
    return Path(database)


def _plain_url(engine: Engine) -> str:
    """The URL as libpq understands it (no SQLAlchemy driver suffix)."""
    return make_url(engine.url).set(drivername="postgresql").render_as_string(hide_password=False)


def live_files(engine: Engine) -> list[Path]:
    """The files of a SQLite database in use (the database, its WAL, shared memory and journal)."""
    if engine.dialect.name != "sqlite":
        return []
    database = _sqlite_path(engine)
    return [Path(f"{database}{suffix}") for suffix in _LIVE_SUFFIXES]


def _same_file(first: Path, second: Path) -> bool:
    """Whether two paths name one file: the same path once links are followed, or the same inode."""
    if first.resolve() == second.resolve():
        return True
    try:
        return os.path.samefile(first, second)
    except OSError:
        return False


def _inside(path: Path, folder: Path) -> bool:
    resolved, root = path.resolve(), folder.resolve()
    return resolved == root or root in resolved.parents


def check_backup_path(engine: Engine, path: Path, protected: Sequence[Path] = (), *, role: str) -> None:
    """Refuse a backup ``path`` that is one of the live database's files or inside a ``protected`` path.

    Writing a backup over the live database (issue 9) replaced its file under the running
    server, whose later writes went to a deleted inode and were lost.
    """
    for live in live_files(engine):
        if _same_file(path, live):
            raise PapertideError(
                f"{path}: that is the live database file {live}; a {role} must be another file "
                "(the default is <data_dir>/backups/)"
            )
    for folder in protected:
        if _inside(path, folder):
            raise PapertideError(f"{path}: {folder} holds files papertide keeps up to date; choose another {role} file")
    if path.is_dir():
        raise PapertideError(f"{path}: is a directory; name a file")


def write_backup(engine: Engine, target: Path, protected: Sequence[Path] = ()) -> Path:
    """Write a consistent copy of the database to ``target`` (overwriting it atomically).

    :param protected: paths a backup must not be written into (the data directory's indexes, key, ...).
    """
    check_backup_path(engine, target, protected, role="backup")
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
    sync_path(temporary)
    os.replace(temporary, target)
    sync_path(target.parent)
    return target


def restore_backup(engine: Engine, source: Path) -> None:
    """Replace the database's contents with a backup made by :func:`write_backup`.

    Stop the web and worker processes first. On SQLite the backup is checked to be a papertide
    database before anything is replaced, and the swap is atomic.
    """
    if not source.is_file():
        raise PapertideError(f"{source}: no such backup file")
    check_backup_path(engine, source, role="backup to restore")
    if engine.dialect.name == "sqlite":
        inspect_sqlite_file(source)
        engine.dispose()
        target = _sqlite_path(engine)
        temporary = target.with_name(f".{target.name}.restoring")
        shutil.copyfile(source, temporary)
        sync_path(temporary)
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
