"""`papertide worker` and `papertide jobs`: the scheduled jobs without the web app (issue 14).

A worker runs the jobs the settings switch on (scheduled ingests, which index what they
store, and the digest run) under the same database leases as `papertide serve`: any number
of workers and servers on any number of hosts run each job once per interval. Run the web
with `serve --no-jobs` (or ``scheduler_enabled = false``) and the jobs here.
`papertide jobs trigger NAME` makes a job due now, so the next poll of some worker runs it.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Annotated

import typer

from papertide.cli.context import console, fail, invocation, stdout
from papertide.domain.clock import utc_now
from papertide.store.leases import list_jobs, trigger_job

EXIT_NOTHING_DUE = 3

jobs_app = typer.Typer(help="Scheduled jobs: list them, make one due now.", no_args_is_help=True)


def worker(
    ctx: typer.Context,
    once: Annotated[
        bool,
        typer.Option("--once", help="Run the jobs that are due now, one pass, and exit (3 when none was due)."),
    ] = False,
) -> None:
    """Run the scheduled jobs (ingest, indexing of what they store, digests) until stopped."""
    services = invocation(ctx).services()
    scheduler = services.make_scheduler()
    if not scheduler.jobs:
        raise fail(
            "no scheduled job is switched on: set PAPERTIDE_DIGEST_SCHEDULE_MINUTES or an "
            "PAPERTIDE_INGEST_SCHEDULE_*_MINUTES setting above 0"
        )
    names = ", ".join(job.name for job in scheduler.jobs)
    if once:
        ran = scheduler.run_due()
        services.make_index_maintainer().run_once()
        console.print(f"ran: {', '.join(ran)}" if ran else f"no job was due ({names})")
        if not ran:
            raise typer.Exit(EXIT_NOTHING_DUE)
        return
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    # SIGTERM (systemd, docker stop) and Ctrl-C both end the current batch of each job, then exit.
    previous = {number: signal.signal(number, request_stop) for number in (signal.SIGTERM, signal.SIGINT)}
    console.print(f"worker {scheduler.holder} running jobs: {names}")
    # The jobs index what they store; snapshots and large catch-ups are written by this loop.
    maintainer = services.make_index_maintainer()
    scheduler.start()
    maintainer.start()
    try:
        stop.wait()
    finally:
        console.print("stopping: waiting for running jobs to finish their batch")
        scheduler.stop()
        maintainer.stop()
        for number, handler in previous.items():
            signal.signal(number, handler)


@jobs_app.command("list")
def list_scheduled(ctx: typer.Context) -> None:
    """Show each scheduled job: when it is next due, who runs it now, how its last run went."""
    for job in list_jobs(invocation(ctx).engine()):
        held = f"  running in {job.holder}" if job.holder else ""
        last = f"  last {job.last_status} at {job.last_finished_at:%Y-%m-%d %H:%M:%S}" if job.last_finished_at else ""
        message = f" ({job.last_message})" if job.last_message else ""
        stdout.print(
            f"{job.name}  next {job.next_run_at:%Y-%m-%d %H:%M:%S}{held}{last}{message}", markup=False, highlight=False
        )


@jobs_app.command("trigger")
def trigger(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="The job, e.g. digest or ingest:oai.")]
) -> None:
    """Make a job due now: the next poll of a worker (or server) running it starts it."""
    services = invocation(ctx).services()
    known = [job.name for job in services.scheduled_jobs()]
    if name not in known:
        raise fail(f"no scheduled job {name!r} is switched on here; switched on: {', '.join(known) or 'none'}")
    if trigger_job(services.engine, name, utc_now()):
        console.print(f"{name} is due now")
    else:
        console.print(f"{name} is running now; it runs again at its next interval")
