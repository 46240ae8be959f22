"""Ledger of ingestion runs, so operators can see what ran, when, and what it did."""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from sqlalchemy import Engine, update

from papertide.store.engine import begin_write
from papertide.store.schema import ingest_runs


class RunCounts(Protocol):
    """The counts a finished run reports (ingest.report.IngestReport has them)."""

    fetched: int
    new: int
    updated: int
    unchanged: int
    skipped: int
    failure: str | None


def start_ingest_run(engine: Engine, source: str, now: dt.datetime) -> int:
    """Open a ledger row for a run and return its id."""
    with begin_write(engine) as conn:
        result = conn.execute(ingest_runs.insert().values(source=source, started_at=now, status="running"))
        key = result.inserted_primary_key
        assert key is not None
        return int(key[0])


def finish_ingest_run(engine: Engine, run_id: int, counts: RunCounts, now: dt.datetime) -> None:
    """Close a run's ledger row with its outcome."""
    with begin_write(engine) as conn:
        conn.execute(
            update(ingest_runs)
            .where(ingest_runs.c.id == run_id)
            .values(
                finished_at=now,
                status="failed" if counts.failure else "ok",
                fetched=counts.fetched,
                new=counts.new,
                updated=counts.updated,
                unchanged=counts.unchanged,
                skipped=counts.skipped,
                message=counts.failure,
            )
        )
