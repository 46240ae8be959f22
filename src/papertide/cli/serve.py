"""`papertide serve`: the web app and API, and the scheduled jobs; the one command that imports papertide.web.

One process by default. ``--workers N`` runs N processes behind one port (uvicorn's own
supervisor: the parent binds the socket, each child builds the app from the environment
through :func:`worker_app`, and a child that dies is replaced). Everything the processes must
agree on lives in the database — sessions are signed cookies checked against the users table,
CSRF is a signed double-submit cookie, rate limits, votes, job leases and the digest outbox
are rows — or in the data directory they share (the signing key). ``--no-jobs`` leaves the
scheduled jobs to `papertide worker` (cli/worker.py).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Annotated

import typer

from papertide.cli.context import Invocation, console, invocation, stdout

if TYPE_CHECKING:
    from fastapi import FastAPI

    from papertide.config import Settings

# What `serve --workers` hands its children through the environment (they load settings from it).
BASE_URL_ENV = "PAPERTIDE_BASE_URL"
SCHEDULER_ENV = "PAPERTIDE_SCHEDULER_ENABLED"


def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", envvar="PORT")] = 8000,
    workers: Annotated[
        int, typer.Option(min=1, help="Web processes behind the one port (the database keeps them in step).")
    ] = 1,
    no_jobs: Annotated[
        bool, typer.Option("--no-jobs", help="Run no scheduled jobs here: leave them to `papertide worker`.")
    ] = False,
    get: Annotated[str | None, typer.Option("--get", help="Fetch one PATH in-process, print it and exit.")] = None,
) -> None:
    """Serve the web app and API (and, unless --no-jobs, the scheduled jobs)."""
    run = invocation(ctx)
    if get is not None:
        _fetch_once(run, host, port, get)
        return
    import uvicorn

    if workers == 1:
        app = serving_app(run, host, port, run_jobs=not no_jobs, maintain_indexes=True)
        console.print(f"serving on http://{host}:{port}; links point at {run.settings.base_url}")
        # proxy_headers off: which proxies to believe is the app's decision (web/forwarded.py).
        uvicorn.run(app, host=host, port=port, log_level=run.settings.log_level.lower(), proxy_headers=False)
        return
    settings = prepare_workers(run, host, port, run_jobs=not no_jobs)
    console.print(f"serving on http://{host}:{port} with {workers} processes; links point at {settings.base_url}")
    uvicorn.run(
        "papertide.cli.serve:worker_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=settings.log_level.lower(),
        proxy_headers=False,
    )


def _fetch_once(run: Invocation, host: str, port: int, path: str) -> None:
    from fastapi.testclient import TestClient

    with TestClient(serving_app(run, host, port, run_jobs=False, maintain_indexes=False)) as client:
        response = client.get(path)
    stdout.print(response.text, markup=False, highlight=False)
    if response.status_code >= 400:
        raise typer.Exit(1)


def serving_app(run: Invocation, host: str, port: int, *, run_jobs: bool, maintain_indexes: bool = False) -> FastAPI:
    """The app `serve` runs on ``host:port``: links in its pages, mails, feeds and jobs name that address.

    Unless ``PAPERTIDE_BASE_URL`` is set, the base URL is the served address; when it is set
    and names this machine on another port, a warning says the links will not reach the server.
    """
    # Imported here: the other commands start without loading the web framework.
    from papertide.web.app import create_app

    settings = _served_settings(run, host, port)
    # The app migrates at start-up; scheduled jobs and index maintenance run only in a real server,
    # never for a one-off --get.
    return create_app(
        settings, services=run.services(migrate=False), run_jobs=run_jobs, maintain_indexes=maintain_indexes
    )


def prepare_workers(run: Invocation, host: str, port: int, *, run_jobs: bool) -> Settings:
    """Do once, in the parent, what N children must not race on; leave the rest to the environment.

    The schema is migrated and the signing key created here, before any child starts. The
    children load their settings from this process's environment, so the served base URL and
    ``--no-jobs`` are written into it (only for the children: this process serves nothing).
    """
    settings = _served_settings(run, host, port)
    services = run.services(migrate=True)
    services.secret  # noqa: B018 - created now, once, rather than by N children at once
    services.close()
    os.environ[BASE_URL_ENV] = settings.base_url
    if not run_jobs:
        os.environ[SCHEDULER_ENV] = "false"
    return settings


def worker_app() -> FastAPI:
    """The app of one `serve --workers` child, from the environment its parent prepared (uvicorn's factory)."""
    from papertide.web.app import create_app

    run = Invocation()
    # Migrated by the parent already; jobs run when the settings allow (scheduler_enabled).
    return create_app(
        run.settings, services=run.services(migrate=False), migrate=False, run_jobs=True, maintain_indexes=True
    )


def _served_settings(run: Invocation, host: str, port: int) -> Settings:
    settings = run.serve_at(host, port)
    mismatch = settings.base_url_mismatch(host, port)
    if mismatch:
        console.print(f"[bold yellow]warning:[/] {mismatch}", markup=True, highlight=False)
    return settings
