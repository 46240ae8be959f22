"""A backup never lands on the live database or the files papertide keeps beside it (issue 9)."""

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
from tests.cli_runner import run_papertide
from tests.corpus import load_small_corpus


def database_of(engine: Engine) -> Path:
    assert engine.url.database is not None
    return Path(engine.url.database)


def live_spellings(database: Path, tmp_path: Path) -> list[Path]:
    """The live database named every way: as is, relative with dots, by a symlink, by a hard link, its WAL."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    symlink = tmp_path / "alias.db"
    symlink.symlink_to(database)
    hardlink = tmp_path / "hard.db"
    os.link(database, hardlink)
    dotted = database.parent / "." / ".." / database.parent.name / database.name
    return [database, dotted, symlink, hardlink, Path(f"{database}-wal"), Path(f"{database}-shm")]


def test_a_backup_onto_any_spelling_of_the_live_database_is_refused_and_writes_go_on(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    load_small_corpus(sqlite_engine)
    database = database_of(sqlite_engine)
    with sqlite_engine.connect() as serving:  # a server holding the database open
        inode = database.stat().st_ino
        for target in live_spellings(database, tmp_path / "links"):
            with pytest.raises(PapertideError, match="live database"):
                write_backup(sqlite_engine, target)
        assert database.stat().st_ino == inode
        serving.close()
    with begin_write(sqlite_engine) as conn:
        conn.execute(papers.delete().where(papers.c.arxiv_id == "nothing"))
    with sqlite_engine.connect() as conn:
        assert count_papers(conn) == 48


def test_a_backup_into_the_index_folder_is_refused(sqlite_engine: Engine, tmp_path: Path) -> None:
    indexes = tmp_path / "data" / "search"
    (indexes / "vectors").mkdir(parents=True)
    with pytest.raises(PapertideError, match="holds files papertide keeps up to date"):
        write_backup(sqlite_engine, indexes / "vectors" / "ids.npy", protected=[indexes])
    assert not (indexes / "vectors" / "ids.npy").exists()


def test_restoring_the_live_database_onto_itself_is_refused(sqlite_engine: Engine) -> None:
    load_small_corpus(sqlite_engine)
    with pytest.raises(PapertideError, match="live database"):
        restore_backup(sqlite_engine, database_of(sqlite_engine))
    with sqlite_engine.connect() as conn:
        assert count_papers(conn) == 48


def test_the_backup_command_refuses_the_live_database_with_a_clear_message(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert run_papertide(data, "db", "upgrade").exit_code == 0
    inode = (data / "papertide.db").stat().st_ino
    result = run_papertide(data, "backup", str(data / "papertide.db"))
    assert result.exit_code == 1
    assert "live database" in " ".join(result.stderr.split())
    assert "backup written" not in result.stdout
    assert (data / "papertide.db").stat().st_ino == inode
    into_index = run_papertide(data, "backup", str(data / "search" / "copy.db"))
    assert into_index.exit_code == 1 and "keeps up to date" in " ".join(into_index.stderr.split())
    fine = run_papertide(data, "backup", str(tmp_path / "copy.db"))
    assert fine.exit_code == 0, fine.stderr
