"""Background jobs of `papertide serve`: ingestion (and digests) on intervals from settings.

Each job runs in its own thread, so a long harvest never delays another job. Before a run a
process claims the job's lease row (store/leases.py): with several `serve` processes on one
database each job still runs once per interval, in one of them. The lease is renewed while the
job runs; on shutdown the jobs are asked to stop and end after their current batch.

To add a job, append a :class:`Job` in :func:`scheduled_jobs`; ``run`` gets the stop event
and returns a :class:`JobResult`.
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

from papertide.config import Settings
from papertide.domain.clock import Clock, utc_now
from papertide.ingest.http import Politeness
from papertide.ingest.pipeline import ChangeHook
from papertide.ingest.registry import SourceConfig, run_scheduled
from papertide.store.leases import claim_job, ensure_job, release_job, renew_lease
from papertide.web.digest_settings import run_scheduled_digest

log = logging.getLogger(__name__)

INGEST_JOB_PREFIX = "ingest:"

# Builds the hook that indexes changed papers, given the app's engine (cli.context.index_hook).
IndexHookFactory = Callable[[Engine], ChangeHook]


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


def source_config(settings: Settings) -> SourceConfig:
    """The sources' configuration from settings (shared by `papertide ingest` and the scheduler)."""
    return SourceConfig(
        politeness=Politeness(
            user_agent=settings.ingest_user_agent,
            spacing_s=settings.ingest_request_spacing_s,
            timeout_s=settings.ingest_timeout_s,
            retries=settings.ingest_retries,
            backoff_s=settings.ingest_backoff_s,
            max_wait_s=settings.ingest_max_wait_s,
        ),
        arxiv_api_url=settings.ingest_arxiv_api_url,
        arxiv_oai_url=settings.ingest_oai_url,
        hf_daily_url=settings.ingest_hf_daily_url,
        arxiv_api_query=settings.ingest_arxiv_api_query,
        arxiv_api_max=settings.ingest_arxiv_api_max,
        arxiv_api_page_size=settings.ingest_arxiv_api_page_size,
        oai_set=settings.ingest_oai_set or None,
        oai_prefix=settings.ingest_oai_prefix,
        hf_daily_days=settings.ingest_hf_daily_days,
    )


def _ingest_job(name: str, minutes: int, engine: Engine, config: SourceConfig, on_changed: ChangeHook | None) -> Job:
    def run(stop: threading.Event) -> JobResult:
        report = run_scheduled(name, engine, config, on_changed=on_changed, stop=stop)
        return JobResult(report.failure is None, report.failure or report.summary())

    return Job(f"{INGEST_JOB_PREFIX}{name}", dt.timedelta(minutes=minutes), run)


def scheduled_jobs(settings: Settings, engine: Engine, *, on_changed: ChangeHook | None = None) -> list[Job]:
    """Every job the settings switch on (an interval of 0 minutes switches one off)."""
    config = source_config(settings)
    intervals = {
        "arxiv-api": settings.ingest_schedule_arxiv_api_minutes,
        "oai": settings.ingest_schedule_oai_minutes,
        "hf-daily": settings.ingest_schedule_hf_daily_minutes,
    }
    jobs = [_ingest_job(name, minutes, engine, config, on_changed) for name, minutes in intervals.items() if minutes]
    if settings.digest_schedule_minutes:
        # The digest run is idempotent: each run sends what became due since the last (issue 6).
        digest = dt.timedelta(minutes=settings.digest_schedule_minutes)
        jobs.append(Job("digest", digest, lambda stop: JobResult(*run_scheduled_digest(settings, engine))))
    return jobs


def make_scheduler(settings: Settings, engine: Engine, *, index_hook: IndexHookFactory | None = None) -> Scheduler:
    """The scheduler `papertide serve` starts in the app's lifespan.

    The index hook is built only when an ingest job is switched on: it opens the search indexes.
    """
    wanted = scheduled_jobs(settings, engine)
    ingesting = any(job.name.startswith(INGEST_JOB_PREFIX) for job in wanted)
    on_changed = index_hook(engine) if index_hook is not None and ingesting else None
    return Scheduler(
        engine,
        scheduled_jobs(settings, engine, on_changed=on_changed) if on_changed else wanted,
        poll_s=settings.scheduler_poll_s,
        lease=dt.timedelta(seconds=settings.scheduler_lease_s),
    )
