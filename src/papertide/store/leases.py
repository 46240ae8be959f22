"""Leases on scheduled jobs, so that many `papertide serve` processes run each job once.

A job's row says when it is next due and who holds it until when. Claiming is one
conditional UPDATE — due, and free or expired — so exactly one process wins, on SQLite
(write lock) and PostgreSQL (row lock, WHERE re-checked) alike. A holder renews its lease
while the job runs; a crashed holder's lease expires and another process takes over.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine, select, update

from papertide.domain.clock import as_utc
from papertide.store.dialect import insert_for
from papertide.store.engine import begin_write
from papertide.store.schema import job_leases


@dataclass(frozen=True, slots=True)
class JobState:
    """What the database knows of one scheduled job."""

    name: str
    next_run_at: dt.datetime
    holder: str | None
    expires_at: dt.datetime | None
    last_started_at: dt.datetime | None
    last_finished_at: dt.datetime | None
    last_status: str | None
    last_message: str | None


def ensure_job(engine: Engine, name: str, first_run_at: dt.datetime) -> None:
    """Create the job's row when it does not exist yet; an existing row keeps its schedule."""
    with begin_write(engine) as conn:
        statement = insert_for(conn, job_leases).values(name=name, next_run_at=first_run_at)
        conn.execute(statement.on_conflict_do_nothing(index_elements=["name"]))


def claim_job(engine: Engine, name: str, holder: str, now: dt.datetime, ttl: dt.timedelta) -> bool:
    """Take the job when it is due and nobody holds a live lease on it; True when taken."""
    with begin_write(engine) as conn:
        result = conn.execute(
            update(job_leases)
            .where(
                job_leases.c.name == name,
                job_leases.c.next_run_at <= now,
                (job_leases.c.holder.is_(None)) | (job_leases.c.expires_at < now),
            )
            .values(holder=holder, expires_at=now + ttl, last_started_at=now)
        )
        return result.rowcount == 1


def renew_lease(engine: Engine, name: str, holder: str, now: dt.datetime, ttl: dt.timedelta) -> bool:
    """Extend a lease this holder still has; False when it was lost (expired and taken)."""
    with begin_write(engine) as conn:
        result = conn.execute(
            update(job_leases)
            .where(job_leases.c.name == name, job_leases.c.holder == holder)
            .values(expires_at=now + ttl)
        )
        return result.rowcount == 1


def release_job(
    engine: Engine,
    name: str,
    holder: str,
    *,
    now: dt.datetime,
    next_run_at: dt.datetime,
    status: str,
    message: str | None,
) -> None:
    """Give the lease back with the outcome and the next due time (no-op if it was lost)."""
    with begin_write(engine) as conn:
        conn.execute(
            update(job_leases)
            .where(job_leases.c.name == name, job_leases.c.holder == holder)
            .values(
                holder=None,
                expires_at=None,
                last_finished_at=now,
                next_run_at=next_run_at,
                last_status=status,
                last_message=message,
            )
        )


def trigger_job(engine: Engine, name: str, now: dt.datetime) -> bool:
    """Make the job due at ``now``: the next scheduler poll of any process runs it (`papertide jobs trigger`).

    A run in progress is left alone; its release then sets the next due time, and the trigger
    is spent. True when the job was idle, False when a process held it.
    """
    ensure_job(engine, name, now)
    with begin_write(engine) as conn:
        conn.execute(update(job_leases).where(job_leases.c.name == name).values(next_run_at=now))
        holder = conn.execute(select(job_leases.c.holder).where(job_leases.c.name == name)).scalar_one()
    return holder is None


def list_jobs(engine: Engine) -> list[JobState]:
    """Every job the scheduler has seen, by name."""
    with engine.connect() as conn:
        rows = conn.execute(select(job_leases).order_by(job_leases.c.name)).all()
    return [
        JobState(
            name=row.name,
            next_run_at=as_utc(row.next_run_at),
            holder=row.holder,
            expires_at=as_utc(row.expires_at),
            last_started_at=as_utc(row.last_started_at),
            last_finished_at=as_utc(row.last_finished_at),
            last_status=row.last_status,
            last_message=row.last_message,
        )
        for row in rows
    ]
