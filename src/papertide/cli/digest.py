"""`papertide digest run | preview`: send the digests that are due, or show one without sending."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    Progress,
    TaskID,
)

from papertide.cli.context import console, fail, invocation, stdout
from papertide.cli.progress import count_columns
from papertide.digest.compose import parse_message
from papertide.digest.job import Progress as ProgressHook
from papertide.digest.preferences import InvalidSubscription, parse_email
from papertide.digest.preview import run_preview
from papertide.digest.why import NO_PAPERS, EmptyReason, state_reason
from papertide.domain.clock import as_utc, utc_now
from papertide.store.deliveries import count_deliveries
from papertide.store.subscribers import count_subscribers, get_subscriber_by_email

app = typer.Typer(
    help="The email digest. `run` exits 0 when it did what was due (also when nothing was), 1 when delivery "
    "had to stop (mail server down or refusing), 2 on bad input.",
    no_args_is_help=True,
)
EXIT_BAD_INPUT = 2


def parse_now(text: str | None) -> dt.datetime | None:
    """An ISO 8601 instant; without a zone it is taken as UTC."""
    if text is None:
        return None
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise fail(
            f"--now {text!r} is not an ISO 8601 date and time, e.g. 2026-08-21T07:00:00Z", EXIT_BAD_INPUT
        ) from None
    return as_utc(value)


@contextmanager
def run_progress(subscribers: int | None = None) -> Iterator[ProgressHook]:
    """Two bars, planning (out of ``subscribers``, with the time left) and sending, shown only on a terminal."""
    with Progress(*count_columns(), console=console, transient=False, disable=not console.is_terminal) as progress:
        tasks: dict[str, TaskID] = {}

        def advance(phase: str, count: int) -> None:
            if phase not in tasks:
                total = subscribers if phase == "plan" else None
                tasks[phase] = progress.add_task("planning" if phase == "plan" else "sending", total=total)
            progress.advance(tasks[phase], count)

        yield advance


@app.command("run")
def run(
    ctx: typer.Context,
    now: Annotated[
        str | None,
        typer.Option("--now", help="Plan as if it were this ISO 8601 instant (default: the current time)."),
    ] = None,
) -> None:
    """Send every digest due now, by each subscriber's time zone and hour; safe to run at any time."""
    planning_now = parse_now(now)
    services = invocation(ctx).services()
    engine = services.engine
    with engine.connect() as conn:
        confirmed = count_subscribers(conn)["confirmed"]
    with run_progress(confirmed) as progress:
        report = services.run_digest(now=planning_now, progress=progress)
    if report.failure:
        console.print(f"[bold red]delivery stopped:[/] {report.failure}", markup=True, highlight=False)
    console.print(report.summary(), markup=False, highlight=False)
    with engine.connect() as conn:
        states = count_deliveries(conn)
        people = count_subscribers(conn)
    waiting = states.get("queued", 0) + states.get("sending", 0)
    console.print(f"outbox: {waiting} waiting; subscribers: {people['confirmed']} confirmed", markup=False)
    raise typer.Exit(report.exit_code)


@app.command("preview")
def preview(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(metavar="EMAIL", help="A subscriber's address.")],
    out: Annotated[
        Path | None, typer.Option("--out", metavar="FILE", help="Also write the whole message (.eml) to FILE.")
    ] = None,
    html: Annotated[
        Path | None,
        typer.Option("--html", metavar="FILE", help="Also write the HTML part to FILE (open it in a browser)."),
    ] = None,
    now: Annotated[str | None, typer.Option("--now", help="Compose as of this ISO 8601 instant.")] = None,
) -> None:
    """Compose the digest EMAIL would get now, without storing or sending anything; print its text part."""
    try:
        address = parse_email(email)
    except InvalidSubscription as error:
        raise fail(str(error), EXIT_BAD_INPUT) from None
    services = invocation(ctx).services()
    engine = services.engine
    with engine.connect() as conn:
        subscriber = get_subscriber_by_email(conn, address)
    if subscriber is None:
        raise fail(f"{address} is not on the subscriber list (see `papertide subscribers list`)", EXIT_BAD_INPUT)
    moment = parse_now(now) or utc_now()
    raw = run_preview(
        engine,
        services.new_composer(),
        subscriber,
        now=moment,
        policy=services.digest_policy,
        matcher=services.topic_matcher(),
    )
    if isinstance(raw, EmptyReason):
        console.print(f"no digest for {address}: {raw.message}", markup=False, highlight=False)
        if raw.code == NO_PAPERS:
            console.print(
                "ingest new papers (`papertide ingest ...`), or load the sample with `papertide init --sample`"
            )
        return
    stopped = state_reason(subscriber)
    if stopped is not None:
        console.print(f"note: {stopped.message}; this is what they would get otherwise", markup=False)
    message = parse_message(raw)
    if out is not None:
        out.write_bytes(raw.data)
        console.print(f"wrote {out} ({len(raw.data)} bytes)")
    if html is not None:
        html_part = message.get_body(("html",))
        html.write_text(str(html_part.get_content()) if html_part is not None else "", encoding="utf-8")
        console.print(f"wrote the HTML part to {html}")
    text_part = message.get_body(("plain",))
    console.print(f"Subject: {message['Subject']}", markup=False, highlight=False)
    stdout.print(str(text_part.get_content()) if text_part is not None else "", markup=False, highlight=False)
