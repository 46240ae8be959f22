"""`papertide serve`: the web app and API, and the scheduled jobs; the one command that imports papertide.web."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from papertide.cli.context import Invocation, console, invocation, stdout

if TYPE_CHECKING:
    from fastapi import FastAPI


def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", envvar="PORT")] = 8000,
    get: Annotated[str | None, typer.Option("--get", help="Fetch one PATH in-process, print it and exit.")] = None,
) -> None:
    """Serve the web app and API (and, when configured, the scheduled jobs)."""
    run = invocation(ctx)
    app = serving_app(run, host, port, run_jobs=get is None)
    if get is not None:
        from fastapi.testclient import TestClient

        with TestClient(app) as client:
            response = client.get(get)
        stdout.print(response.text, markup=False, highlight=False)
        if response.status_code >= 400:
            raise typer.Exit(1)
        return
    import uvicorn

    console.print(f"serving on http://{host}:{port}; links point at {run.settings.base_url}")
    uvicorn.run(app, host=host, port=port, log_level=run.settings.log_level.lower(), proxy_headers=True)


def serving_app(run: Invocation, host: str, port: int, *, run_jobs: bool) -> FastAPI:
    """The app `serve` runs on ``host:port``: links in its pages, mails, feeds and jobs name that address.

    Unless ``PAPERTIDE_BASE_URL`` is set, the base URL is the served address; when it is set
    and names this machine on another port, a warning says the links will not reach the server.
    """
    # Imported here: the other commands start without loading the web framework.
    from papertide.web.app import create_app

    settings = run.serve_at(host, port)
    mismatch = settings.base_url_mismatch(host, port)
    if mismatch:
        console.print(f"[bold yellow]warning:[/] {mismatch}", markup=True, highlight=False)
    # The app migrates at start-up; scheduled jobs run only in a real server, never for a one-off --get.
    return create_app(settings, services=run.services(migrate=False), run_jobs=run_jobs)
