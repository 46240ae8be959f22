"""Ledger of ingestion runs, so operators can see what ran, when, and what it did."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import Connection, Engine, and_, select, update

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


# A run on another host that has not committed a batch for this long is taken for dead.
RUN_LEASE = dt.timedelta(hours=1)
INTERRUPTED = "interrupted"


@dataclass(frozen=True, slots=True)
class RunOwner:
    """The process running an ingest run, and how to tell whether a process of this host lives."""

    host: str
    pid: int
    is_alive: Callable[[int], bool]


def write_interrupted_runs(conn: Connection, owner: RunOwner, now: dt.datetime) -> int:
    """Mark ``running`` runs whose process is gone as interrupted; returns how many.

    On this host the process id is checked; a run of another host (whose processes cannot be
    seen) is taken for dead when its last sign of life is older than ``RUN_LEASE``.
    """
    rows = conn.execute(
        select(
            ingest_runs.c.id,
            ingest_runs.c.host,
            ingest_runs.c.pid,
            ingest_runs.c.started_at,
            ingest_runs.c.heartbeat_at,
        ).where(ingest_runs.c.status == "running")
    ).all()
    gone: list[int] = []
    for row in rows:
        if row.host == owner.host and row.pid is not None:
            if row.pid != owner.pid and not owner.is_alive(int(row.pid)):
                gone.append(int(row.id))
            continue
        last = row.heartbeat_at or row.started_at
        if last.tzinfo is None:
            last = last.replace(tzinfo=dt.UTC)
        if now - last > RUN_LEASE:
            gone.append(int(row.id))
    for run_id in gone:
        conn.execute(
            update(ingest_runs)
            .where(and_(ingest_runs.c.id == run_id, ingest_runs.c.status == "running"))
            .values(
                status=INTERRUPTED,
                finished_at=now,
                message="the process running it ended without finishing (killed, or the machine stopped)",
            )
        )
    return len(gone)


def mark_interrupted_runs(engine: Engine, owner: RunOwner, now: dt.datetime) -> int:
    """``write_interrupted_runs`` in its own transaction (``papertide ingest status``)."""
    with begin_write(engine) as conn:
        return write_interrupted_runs(conn, owner, now)


def write_heartbeat(conn: Connection, run_id: int, now: dt.datetime) -> None:
    """Record that a run is alive (in the transaction of each batch it commits)."""
    conn.execute(update(ingest_runs).where(ingest_runs.c.id == run_id).values(heartbeat_at=now))


def start_ingest_run(engine: Engine, source: str, now: dt.datetime, owner: RunOwner | None = None) -> int:
    """Open a ledger row for a run and return its id; first marks runs whose process is gone as interrupted."""
    with begin_write(engine) as conn:
        if owner is not None:
            write_interrupted_runs(conn, owner, now)
        result = conn.execute(
            ingest_runs.insert().values(
                source=source,
                started_at=now,
                status="running",
                host=owner.host if owner else None,
                pid=owner.pid if owner else None,
                heartbeat_at=now,
            )
        )
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
