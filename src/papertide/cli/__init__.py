"""The ``papertide`` command: a thin client over the library (see README: CLI reference)."""

from __future__ import annotations

import os

import typer

from papertide.cli import (
    admin,
    core,
    digest,
    doctor,
    evaluate,
    indexes,
    ingest,
    search,
    subscribers,
    trending,
    users,
    worker,
)
from papertide.cli.context import fail, invocation
from papertide.domain.errors import PapertideError

app = typer.Typer(
    name="papertide",
    help="Self-hostable research-paper discovery: collect, search, trending, daily digests.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def start(ctx: typer.Context) -> None:
    """Put this run's settings and services (built on first use) on the context for the commands."""
    invocation(ctx)


core.register(app)
admin.register(app)
trending.register(app)
search.register(app)
indexes.register(app)
app.command("doctor")(doctor.doctor)
app.command("eval")(evaluate.evaluate)
app.command("worker")(worker.worker)
app.add_typer(worker.jobs_app, name="jobs")
app.add_typer(ingest.app, name="ingest")
app.add_typer(digest.app, name="digest")
app.add_typer(subscribers.app, name="subscribers")
app.add_typer(users.app, name="users")


def main() -> None:
    """Console-script entry point: an error meant for a person is printed, never a traceback.

    Files the process creates (database, indexes, outbox, secret key) are readable by its own
    user only: the outbox holds live sign-in links and the database every subscriber's address.
    """
    os.umask(0o077)
    try:
        app()
    except PapertideError as error:
        fail(str(error))
        raise SystemExit(1) from None
