"""Migrations build the schema the code queries, and step down again."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from papertide.store.engine import make_engine
from papertide.store.migrate import (
    MIGRATION_LOCK_KEY,
    current_revision,
    downgrade_database,
    head_revision,
    upgrade_database,
)
from papertide.store.schema import metadata
from tests.fleet.processes import clean_environment, start, wait_for
from tests.postgres_server import create_database


def test_upgrade_from_empty_creates_every_table_and_column(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade_database(engine)
    inspector = inspect(engine)
    for table in metadata.sorted_tables:
        columns = {column["name"] for column in inspector.get_columns(table.name)}
        assert columns == {column.name for column in table.columns}, table.name
    assert current_revision(engine) == head_revision()


def test_downgrade_one_step_and_upgrade_again(database_url: str) -> None:
    engine = make_engine(database_url)
    downgrade_database(engine, "-1")
    assert current_revision(engine) != head_revision()
    upgrade_database(engine)
    assert current_revision(engine) == head_revision()


def test_a_process_migrating_postgresql_waits_for_the_one_already_migrating(
    postgres_base_url: str | None, tmp_path: Path
) -> None:
    """Web and worker starting together on a fresh database: the second waits for the first, then migrates."""
    if postgres_base_url is None:
        pytest.skip("no PostgreSQL: set PAPERTIDE_TEST_POSTGRES_URL or PAPERTIDE_TEST_EMBEDDED_POSTGRES=1")
    url = create_database(postgres_base_url)
    engine = make_engine(url)
    env = clean_environment({"PAPERTIDE_DATABASE_URL": url, "PAPERTIDE_DATA_DIR": str(tmp_path / "data")})
    try:
        with engine.connect() as holder:
            # This connection plays the process that is migrating: the other must wait until it is done.
            holder.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            other = start("upgrade", ["db", "upgrade"], env, tmp_path / "logs")

            def waiting() -> bool:
                query = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                return bool(holder.execute(text(query)).scalar_one())

            try:
                wait_for("the second process to wait for the migration lock", waiting, [other])
                assert current_revision(engine) is None  # it waits before touching the schema
            finally:
                holder.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
                holder.commit()
        assert other.popen.wait(timeout=120) == 0, other.output()
        assert current_revision(engine) == head_revision()
    finally:
        other.stop()
        engine.dispose()
