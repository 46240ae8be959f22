"""store/dialect.py: one choice of ON CONFLICT insert for SQLite and PostgreSQL, one error for anything else."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from sqlalchemy import Engine, select

from papertide.domain.clock import as_utc
from papertide.domain.errors import PapertideError
from papertide.store.dialect import insert_for, insert_if_absent
from papertide.store.engine import begin_write
from papertide.store.schema import job_leases

NOW = dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.UTC)


def test_insert_if_absent_inserts_once_and_leaves_the_existing_row_alone(engine: Engine) -> None:
    with begin_write(engine) as conn:
        first = insert_if_absent(conn, job_leases, {"name": "digest", "next_run_at": NOW})
        second = insert_if_absent(conn, job_leases, {"name": "digest", "next_run_at": NOW + dt.timedelta(hours=1)})
    assert (first, second) == (True, False)
    with engine.connect() as conn:
        stored = conn.execute(select(job_leases.c.next_run_at)).scalars().all()
    assert [as_utc(value) for value in stored] == [NOW]


def test_insert_for_speaks_the_connections_dialect_and_updates_on_conflict(engine: Engine) -> None:
    with begin_write(engine) as conn:
        statement = insert_for(conn, job_leases)
        for status in ("ok", "failed"):
            upsert = statement.values(name="ingest", next_run_at=NOW, last_status=status)
            conn.execute(upsert.on_conflict_do_update(index_elements=["name"], set_={"last_status": status}))
    with engine.connect() as conn:
        assert conn.execute(select(job_leases.c.last_status)).scalars().all() == ["failed"]


@pytest.mark.parametrize("name", ["mysql", "oracle", "mssql"])
def test_a_database_other_than_sqlite_or_postgresql_is_refused_by_name(name: str) -> None:
    conn = SimpleNamespace(dialect=SimpleNamespace(name=name))
    with pytest.raises(PapertideError, match=f"supports SQLite and PostgreSQL, not '{name}'"):
        insert_for(conn, job_leases)  # type: ignore[arg-type]
    with pytest.raises(PapertideError, match=f"not '{name}'"):
        insert_if_absent(conn, job_leases, {"name": "x", "next_run_at": NOW})  # type: ignore[arg-type]
