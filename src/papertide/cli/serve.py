"""`papertide serve`: the web app and API, and the scheduled jobs; the one command that imports papertide.web."""

from __future__ import annotations

from typing import Annotated

import typer

from papertide.cli.context import console, invocation, stdout


def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", envvar="PORT")] = 8000,
    get: Annotated[str | None, typer.Option("--get", help="Fetch one PATH in-process, print it and exit.")] = None,
) -> None:
    """Serve the web app and API (and, when configured, the scheduled jobs)."""
    # Imported here: the other commands start without loading the web framework.
    from papertide.web.app import create_app

    run = invocation(ctx)
    # The app migrates at start-up; scheduled jobs run only in a real server, never for a one-off --get.
    app = create_app(run.settings, services=run.services(migrate=False), run_jobs=get is None)
    if get is not None:
        from fastapi.testclient import TestClient

        with TestClient(app) as client:
            response = client.get(get)
        stdout.print(response.text, markup=False, highlight=False)
        if response.status_code >= 400:
            raise typer.Exit(1)
        return
    import uvicorn

    console.print(f"serving on http://{host}:{port}")
    uvicorn.run(app, host=host, port=port, log_level=run.settings.log_level.lower(), proxy_headers=True)
