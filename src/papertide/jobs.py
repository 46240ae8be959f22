"""Background jobs: a runner that claims each due job under a database lease, and the job kinds.

Each job runs in its own thread, so a long harvest never delays another job. Before a run a
process claims the job's lease row (store/leases.py): with several `serve` and `worker`
processes on one database each job still runs once per interval, in one of them. The lease is renewed while the
job runs; on shutdown the jobs are asked to stop and end after their current batch.

The runner knows nothing of settings or the web: the composition root (services.py) decides
which jobs run and how often, and `papertide serve` or `papertide worker` starts and stops
the scheduler. To add a
job kind, write a function returning a :class:`Job` here and switch it on in
``Services.scheduled_jobs``; ``run`` gets the stop event and returns a :class:`JobResult`.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import Engine

from papertide.domain.clock import Clock, utc_now
from papertide.ingest.pipeline import ChangeHook
from papertide.ingest.registry import SourceConfig, run_scheduled
from papertide.store.leases import claim_job, ensure_job, release_job, renew_lease

log = logging.getLogger(__name__)

INGEST_JOB_PREFIX = "ingest:"


@dataclass(frozen=True, slots=True)
class JobResult:
    """How a run went, kept in the job's lease row (``papertide ingest status`` shows it)."""

    ok: bool
    message: str = ""


@dataclass(frozen=True, slots=True)
class Job:
    """Something to run every ``interval``; ``run`` should return soon after the event is set."""

    name: str
    interval: dt.timedelta
    run: Callable[[threading.Event], JobResult]


class Scheduler:
    """Runs due jobs under database leases; ``run_due`` does one pass, ``start`` keeps going."""

    def __init__(
        self,
        engine: Engine,
        jobs: Sequence[Job],
        *,
        poll_s: float = 30.0,
        lease: dt.timedelta = dt.timedelta(minutes=5),
        holder: str | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self.engine = engine
        self.jobs = list(jobs)
        self.poll_s = poll_s
        self.lease = lease
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.clock = clock
        self.stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._registered = False

    def _register(self) -> None:
        if not self._registered:
            for job in self.jobs:
                ensure_job(self.engine, job.name, self.clock())
            self._registered = True

    def run_if_due(self, job: Job) -> JobResult | None:
        """Run the job when it is due and no other process holds it; None when it did not run."""
        self._register()
        started = self.clock()
        if not claim_job(self.engine, job.name, self.holder, started, self.lease):
            return None
        finished = threading.Event()
        heartbeat = threading.Thread(target=self._renew, args=(job.name, finished), daemon=True)
        heartbeat.start()
        log.info("job %s started", job.name)
        try:
            result = job.run(self.stopping)
        except Exception as error:
            log.exception("job %s failed", job.name)
            result = JobResult(False, f"{type(error).__name__}: {error}")
        finally:
            finished.set()
            heartbeat.join()
        release_job(
            self.engine,
            job.name,
            self.holder,
            now=self.clock(),
            next_run_at=started + job.interval,
            status="ok" if result.ok else "failed",
            message=result.message[:2000],
        )
        log.info("job %s %s: %s", job.name, "done" if result.ok else "failed", result.message)
        return result

    def run_due(self) -> list[str]:
        """One pass over every job, in this thread; returns the names of the jobs that ran."""
        return [job.name for job in self.jobs if not self.stopping.is_set() and self.run_if_due(job) is not None]

    def _renew(self, name: str, finished: threading.Event) -> None:
        while not finished.wait(self.lease.total_seconds() / 3):
            if not renew_lease(self.engine, name, self.holder, self.clock(), self.lease):
                log.warning("job %s: lease lost (the run outlived it); another process may start it", name)

    def _loop(self, job: Job) -> None:
        while not self.stopping.is_set():
            try:
                self.run_if_due(job)
            except Exception:
                # The database may be briefly unavailable; the next poll tries again.
                log.exception("scheduler: checking job %s failed", job.name)
            self.stopping.wait(self.poll_s)

    def start(self) -> None:
        """One daemon thread per job."""
        for job in self.jobs:
            thread = threading.Thread(target=self._loop, args=(job,), name=f"job-{job.name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout_s: float = 20.0) -> None:
        """Ask running jobs to stop and wait a while; a job still running keeps its lease until it expires."""
        self.stopping.set()
        for thread in self._threads:
            thread.join(timeout_s / max(1, len(self._threads)))
        self._threads.clear()


def ingest_job(
    name: str, interval: dt.timedelta, engine: Engine, config: SourceConfig, on_changed: ChangeHook | None
) -> Job:
    """A scheduled run of the network source ``name`` (ingest/registry.py), indexing what changed."""

    def run(stop: threading.Event) -> JobResult:
        report = run_scheduled(name, engine, config, on_changed=on_changed, stop=stop)
        return JobResult(report.failure is None, report.failure or report.summary())

    return Job(f"{INGEST_JOB_PREFIX}{name}", interval, run)
