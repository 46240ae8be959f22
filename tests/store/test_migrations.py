"""Migrations build the schema the code queries, and step down again."""

from __future__ import annotations

from sqlalchemy import inspect

from papertide.store.engine import make_engine
from papertide.store.migrate import current_revision, downgrade_database, head_revision, upgrade_database
from papertide.store.schema import metadata


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
