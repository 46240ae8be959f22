"""`papertide migrate-to`: move a SQLite installation to PostgreSQL (issue 14; docs/postgresql.md)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from sqlalchemy import Engine

from papertide.cli.context import console, fail, invocation
from papertide.cli.output import print_json_line, print_rows
from papertide.cli.progress import count_progress
from papertide.domain.errors import PapertideError
from papertide.store.transfer import TransferReport, copy_database
from papertide.store.transfer_setup import EXAMPLE_URL, open_postgres_target, open_sqlite_source, parse_target_url


@contextmanager
def _disposing(*engines: Engine) -> Iterator[None]:
    try:
        yield
    finally:
        for engine in engines:
            engine.dispose()


def migrate_to(
    ctx: typer.Context,
    target: Annotated[str, typer.Argument(metavar="TARGET_URL", help=f"The PostgreSQL database, e.g. {EXAMPLE_URL}.")],
    replace: Annotated[
        bool,
        typer.Option(
            "--replace", metavar="", help="Delete the papertide data the target holds, in the copy's transaction."
        ),
    ] = False,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, max=100_000, help="Rows per insert.")] = 1000,
    as_json: Annotated[bool, typer.Option("--json", metavar="", help="Print JSON lines, one table each.")] = False,
) -> None:
    """Copy this SQLite installation into an empty PostgreSQL database, then check every table.

    Every table is copied in one transaction: on any failure the target is left as it was. Stop
    the service first (writes made during the copy stay in SQLite only). Afterwards point
    PAPERTIDE_DATABASE_URL at the target; the search indexes catch up without embedding anything.
    """
    run = invocation(ctx)
    try:
        source = open_sqlite_source(run.settings.database_url)
        with _disposing(source):
            destination = open_postgres_target(target)
            with _disposing(destination):
                report = copy_database(
                    source, destination, replace=replace, batch_size=batch_size, progress=count_progress
                )
    except PapertideError as error:
        raise fail(str(error)) from None
    _print_report(report, as_json)
    shown = parse_target_url(target).render_as_string(hide_password=True)
    console.print(
        f"copied {report.rows:,} rows into {shown} (schema {report.revision}); every table matches. "
        "Set PAPERTIDE_DATABASE_URL to it; `papertide index` catches the search indexes up from the copied vectors.",
        markup=False,
        highlight=False,
    )


def _print_report(report: TransferReport, as_json: bool) -> None:
    if as_json:
        for check in report.tables:
            print_json_line(
                {
                    "table": check.name,
                    "source_rows": check.source_rows,
                    "target_rows": check.target_rows,
                    "key_checksum": f"{check.target_checksum:016x}",
                    "matches": check.matches,
                    "next_id": report.next_ids.get(check.name),
                }
            )
        return
    rows = [
        [
            check.name,
            str(check.source_rows),
            str(check.target_rows),
            f"{check.target_checksum:016x}",
            "ok" if check.matches else "DIFFERS",
        ]
        for check in report.tables
    ]
    print_rows(["table", "sqlite rows", "postgresql rows", "key checksum", "check"], rows)
