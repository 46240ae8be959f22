"""The test suite's own embedded PostgreSQL: started fast, removed without a checkpoint, nothing left behind."""

from __future__ import annotations

import os
from pathlib import Path

import psutil
import pytest
from sqlalchemy import create_engine, text

from tests.postgres_server import create_database, remove_embedded_postgres, start_embedded_postgres

pytestmark = pytest.mark.skipif(
    os.environ.get("PAPERTIDE_TEST_EMBEDDED_POSTGRES") != "1",
    reason="starts a second embedded PostgreSQL (PAPERTIDE_TEST_EMBEDDED_POSTGRES=1, as `make test` sets)",
)


def test_removing_the_server_stops_every_process_of_it_and_deletes_its_directory(pg_server_root: Path) -> None:
    pgdata = pg_server_root / "pgdata"
    server, base_url = start_embedded_postgres(pgdata, skip_disk_flushes=True)
    url = create_database(base_url)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE written (n int)"))
        conn.execute(text("INSERT INTO written SELECT generate_series(1, 1000)"))
        settings = dict(
            conn.execute(
                text("SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'full_page_writes')")
            ).all()
        )
    engine.dispose()
    postmaster = psutil.Process(server.get_pid())
    children = postmaster.children()
    assert settings == {"fsync": "off", "full_page_writes": "off"}
    assert children, "a running server has its background processes"

    remove_embedded_postgres(server)

    assert not pgdata.exists()
    for process in [postmaster, *children]:
        assert not process.is_running() or process.status() == psutil.STATUS_ZOMBIE


def test_a_benchmark_server_keeps_the_settings_a_deployed_server_has(pg_server_root: Path) -> None:
    server, base_url = start_embedded_postgres(pg_server_root / "pgdata", skip_disk_flushes=False)
    try:
        engine = create_engine(base_url)
        with engine.connect() as conn:
            fsync = conn.execute(text("SHOW fsync")).scalar_one()
            full_page_writes = conn.execute(text("SHOW full_page_writes")).scalar_one()
        engine.dispose()
    finally:
        remove_embedded_postgres(server)
    assert (fsync, full_page_writes) == ("on", "on")
