"""bench/search.py runs against SQLite or an embedded PostgreSQL, and --keep/--reuse find the data again (issue 14)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text

from bench.search import POSTGRES_DATABASE, bench_database


def test_the_sqlite_bench_database_is_the_data_folders_file(tmp_path: Path) -> None:
    # The folder layout of a SQLite --keep run made before --database existed (the 1 M corpus) is read as it was.
    with bench_database("sqlite", tmp_path, keep=True) as url:
        assert url == f"sqlite:///{(tmp_path / 'papertide.db').as_posix()}"


def test_a_kept_postgresql_bench_database_is_found_again_with_its_rows(pg_server_root: Path) -> None:
    if os.environ.get("PAPERTIDE_TEST_EMBEDDED_POSTGRES") != "1":
        pytest.skip("no embedded PostgreSQL: set PAPERTIDE_TEST_EMBEDDED_POSTGRES=1")
    with bench_database("postgresql", pg_server_root, keep=True) as url:
        assert url.startswith("postgresql+psycopg://")
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE marker (value INTEGER)"))
            conn.execute(text("INSERT INTO marker VALUES (7)"))
        engine.dispose()
    assert (pg_server_root / "pgdata").is_dir()
    with bench_database("postgresql", pg_server_root, keep=False) as again:
        assert make_url(again).database == make_url(url).database == POSTGRES_DATABASE
        engine = create_engine(again)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT value FROM marker")).scalar_one() == 7
        engine.dispose()
    # Not kept: the server's data went with it.
    assert not (pg_server_root / "pgdata").exists()


def test_a_kept_postgresql_server_is_stopped_after_a_run_even_when_a_killed_run_left_its_pid_listed(
    pg_server_root: Path,
) -> None:
    if os.environ.get("PAPERTIDE_TEST_EMBEDDED_POSTGRES") != "1":
        pytest.skip("no embedded PostgreSQL: set PAPERTIDE_TEST_EMBEDDED_POSTGRES=1")
    pgdata = pg_server_root / "pgdata"
    with bench_database("postgresql", pg_server_root, keep=True):
        pass
    assert not (pgdata / "postmaster.pid").exists()
    # A run killed while it held the server never took its pid out of embedded_postgres's list.
    dead = subprocess.Popen(["true"])
    dead.wait()
    (pgdata / ".handle_pids.json").write_text(json.dumps([dead.pid]))
    try:
        with bench_database("postgresql", pg_server_root, keep=True) as url:
            assert url.startswith("postgresql+psycopg://")
            assert (pgdata / "postmaster.pid").exists()
        assert not (pgdata / "postmaster.pid").exists(), "the kept server was left running after the run"
        assert json.loads((pgdata / ".handle_pids.json").read_text()) == []
    finally:
        with bench_database("postgresql", pg_server_root, keep=False):
            pass
