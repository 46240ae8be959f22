"""Telling whether a file is a papertide SQLite database, read-only, before anything opens it for writing.

Opening a file through :func:`papertide.store.engine.make_engine` switches it to WAL and creates
it when missing: a backup to restore or an installation to migrate is looked at with a
read-only connection first, so a wrong file is refused without being touched.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from papertide.domain.errors import PapertideError


def inspect_sqlite_file(path: Path, *, integrity: bool = True) -> str:
    """The schema revision of the papertide database in ``path``; raises PapertideError for anything else.

    :param integrity: also run SQLite's ``quick_check`` (reads every page) and refuse a damaged file.
    """
    if not path.is_file():
        raise PapertideError(f"{path}: no such database file")
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            revision = None
            if "alembic_version" in tables:
                revision = connection.execute("SELECT version_num FROM alembic_version").fetchone()
            check = connection.execute("PRAGMA quick_check").fetchone()[0] if integrity else "ok"
        finally:
            connection.close()
    except sqlite3.DatabaseError as error:
        raise PapertideError(f"{path}: not a SQLite database ({error})") from None
    if not {"alembic_version", "papers"} <= tables or revision is None:
        raise PapertideError(f"{path}: not a papertide database (no papers or alembic_version table)")
    if check != "ok":
        raise PapertideError(f"{path}: the database is damaged ({check})")
    return str(revision[0])
