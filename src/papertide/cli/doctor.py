"""`papertide doctor`: checks what an operator would otherwise find out from a failing page."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from typing import Annotated

import typer
from rich.table import Table

from papertide.cli.context import Invocation, console, invocation
from papertide.mail.transport import DeliveryError, SmtpTransport
from papertide.store.migrate import current_revision, head_revision
from papertide.store.papers import count_papers

Check = Callable[[Invocation], str]


def check_database(run: Invocation) -> str:
    """The database answers and its schema is the one this version expects."""
    engine = run.engine(migrate=False)
    current, head = current_revision(engine), head_revision()
    if current != head:
        raise RuntimeError(f"schema at {current or 'empty'}, this version needs {head}: run `papertide db upgrade`")
    with engine.connect() as conn:
        papers = count_papers(conn)
    return f"{engine.dialect.name}, schema {current}, {papers:,} papers"


def check_data_dir(run: Invocation) -> str:
    """The data directory exists and is writable (indexes, outbox, secret key live there)."""
    directory = run.settings.data_dir
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=directory, prefix=".doctor-"):
        pass
    return f"{directory.resolve()} writable"


def check_mail(run: Invocation) -> str:
    """SMTP answers (when configured), or the outbox directory is writable."""
    url = run.settings.smtp_url.get_secret_value()
    if not url:
        outbox = run.settings.outbox_dir
        outbox.mkdir(parents=True, exist_ok=True)
        if not os.access(outbox, os.W_OK):
            raise RuntimeError(f"{outbox} is not writable")
        return f"no SMTP configured: mail is written to {outbox}"
    try:
        return SmtpTransport(url, timeout=10).probe()
    except DeliveryError as error:
        raise RuntimeError(str(error)) from None


CHECKS: list[tuple[str, Check]] = [
    ("database", check_database),
    ("data directory", check_data_dir),
    ("mail", check_mail),
]


def doctor(
    ctx: typer.Context,
    skip: Annotated[list[str] | None, typer.Option("--skip", help="Name of a check to leave out.")] = None,
) -> None:
    """Check the database, data directory, search indexes, embedding model and mail; exit 1 on a problem."""
    table = Table("check", "status", "detail", title="papertide doctor")
    failures = 0
    run = invocation(ctx)
    for name, check in CHECKS:
        if skip and name in skip:
            continue
        try:
            detail = check(run)
            table.add_row(name, "[green]ok[/]", detail)
        except Exception as error:  # every failure is a finding to report, not a crash
            failures += 1
            table.add_row(name, "[red]failed[/]", str(error))
    console.print(table)
    raise typer.Exit(1 if failures else 0)
