"""Operator commands: backup, restore and migrate-to."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from papertide.cli.context import console, fail, invocation
from papertide.cli.migrate import migrate_to
from papertide.domain.errors import PapertideError
from papertide.store.backup import restore_backup, write_backup
from papertide.store.migrate import upgrade_database


def register(app: typer.Typer) -> None:
    """Attach the operator commands to the top-level app."""
    app.command("backup")(backup)
    app.command("restore")(restore)
    app.command("migrate-to")(migrate_to)


def backup(
    ctx: typer.Context,
    target: Annotated[
        Path | None,
        typer.Argument(metavar="TARGET", help="File to write; default <data_dir>/backups/papertide-<time>.db|.dump"),
    ] = None,
) -> None:
    """Write a consistent backup of the database while the service keeps running.

    The target may not be the live database or one of its files (-wal, -shm), by any path, link or
    hard link, nor inside the data directory's indexes, models, outbox or key: the copy goes to a
    temporary name and is renamed into place.
    """
    services = invocation(ctx).services()
    engine = services.engine
    if target is None:
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        suffix = "db" if engine.dialect.name == "sqlite" else "dump"
        target = services.settings.data_dir / "backups" / f"papertide-{stamp}.{suffix}"
    try:
        written = write_backup(engine, target, protected=services.protected_paths())
    except PapertideError as error:
        raise fail(str(error)) from None
    console.print(f"backup written to {written} ({written.stat().st_size:,} bytes)")


def restore(
    ctx: typer.Context,
    source: Annotated[Path, typer.Argument(metavar="SOURCE", help="A file written by `papertide backup`.")],
    yes: Annotated[bool, typer.Option("--yes", metavar="", help="Do not ask for confirmation.")] = False,
) -> None:
    """Replace the database with a backup (stop the service first), then migrate it to this version."""
    run = invocation(ctx)
    if not yes and not typer.confirm(f"Replace the database at {run.settings.database_url} with {source}?"):
        raise typer.Exit(1)
    engine = run.engine(migrate=False)
    try:
        restore_backup(engine, source)
    except PapertideError as error:
        raise fail(str(error)) from None
    upgrade_database(engine)
    console.print(f"restored {source}; run `papertide reindex` to rebuild the search indexes")
