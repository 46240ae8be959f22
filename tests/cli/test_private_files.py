"""What papertide writes is readable by its own user only (issue 9): real `papertide` processes, real files."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from papertide.store.engine import make_engine

DATA = Path(__file__).resolve().parents[1] / "data" / "papers_small.jsonl"


def _papertide(data_dir: Path, *arguments: str) -> None:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("PAPERTIDE_")}
    environment |= {
        "PAPERTIDE_DATA_DIR": str(data_dir),
        # Words only: the test is about files, not the embedding model.
        "PAPERTIDE_SEARCH_EMBED_BATCH_LIMIT": "0",
    }
    finished = subprocess.run(
        [sys.executable, "-m", "papertide", *arguments],
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert finished.returncode in (0, 3), finished.stderr


def test_the_data_directory_database_key_outbox_and_index_files_are_private_to_the_owner(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    previous = os.umask(0o022)  # the usual umask, under which new files are world-readable
    try:
        _papertide(data_dir, "subscribers", "add", "reader@example.org")  # database, key, outbox mail
        _papertide(data_dir, "ingest", "jsonl", str(DATA))  # the lexical index
    finally:
        os.umask(previous)
    found = {path.relative_to(data_dir).as_posix(): stat.S_IMODE(path.stat().st_mode) for path in data_dir.rglob("*")}
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    assert found["papertide.db"] == 0o600 and found["secret_key"] == 0o600
    assert any(name.startswith("outbox/") and name.endswith(".eml") for name in found)
    assert any(name.startswith("search/") for name in found)
    shared = {name: oct(mode) for name, mode in found.items() if mode & 0o077}
    assert shared == {}, f"readable by others: {shared}"


def test_a_sqlite_database_is_created_owner_only_whatever_the_umask(tmp_path: Path) -> None:
    database = tmp_path / "fresh" / "papertide.db"
    previous = os.umask(0o022)
    try:
        engine = make_engine(f"sqlite:///{database}")
        assert not database.exists()  # building the engine touches no file
        with engine.connect() as conn:
            conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        engine.dispose()
    finally:
        os.umask(previous)
    assert stat.S_IMODE(database.stat().st_mode) == 0o600
    assert stat.S_IMODE(database.parent.stat().st_mode) == 0o700
