"""`papertide subscribers list | add | remove | import`: the operator's view of the digest list."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from papertide.cli.context import console, fail, invocation
from papertide.cli.output import print_json_line, print_rows
from papertide.cli.progress import count_progress
from papertide.digest.preferences import InvalidSubscription, parse_email, parse_preferences
from papertide.digest.roster import RosterEntry, read_roster_text, send_confirmations, write_roster
from papertide.domain.subscribers import STATUSES, Subscriber
from papertide.services import Services
from papertide.store.engine import begin_write
from papertide.store.subscribers import (
    delete_subscriber,
    get_subscriber_by_email,
    list_subscribers,
    unsubscribe_subscriber,
)

app = typer.Typer(help="Digest subscribers. Exit 0: done; 2: bad input (nothing stored).", no_args_is_help=True)
EXIT_BAD_INPUT = 2
MAX_PROBLEMS_SHOWN = 30


def _row(subscriber: Subscriber) -> dict[str, object]:
    preferences = subscriber.preferences
    return {
        "id": subscriber.id,
        "email": subscriber.email,
        "status": subscriber.status,
        "frequency": preferences.frequency,
        "hour": preferences.hour,
        "timezone": preferences.timezone,
        "size": preferences.size,
        "topics": preferences.topics.to_json(),
        "created_at": subscriber.created_at.isoformat(),
        "confirmed_at": subscriber.confirmed_at.isoformat() if subscriber.confirmed_at else None,
        "last_digest_at": subscriber.last_digest_at.isoformat() if subscriber.last_digest_at else None,
        "bounce_count": subscriber.bounce_count,
    }


@app.command("list")
def list_command(
    ctx: typer.Context,
    status: Annotated[str | None, typer.Option("--status", help=f"Only this status: {', '.join(STATUSES)}.")] = None,
    as_json: Annotated[bool, typer.Option("--json", metavar="", help="Print JSON lines, one subscriber each.")] = False,
) -> None:
    """List subscribers in sign-up order."""
    if status is not None and status not in STATUSES:
        raise fail(f"--status must be one of {', '.join(STATUSES)}, got {status!r}", EXIT_BAD_INPUT)
    engine = invocation(ctx).engine()
    headers = ("email", "status", "frequency", "hour", "zone", "papers", "topics", "last digest", "bounces")
    rows: list[tuple[str, ...]] = []
    after, shown = 0, 0
    while True:
        with engine.connect() as conn:
            page = list_subscribers(conn, statuses=[status] if status else [], after_id=after, limit=1000)
        if not page:
            break
        after = page[-1].id
        for subscriber in page:
            shown += 1
            if as_json:
                print_json_line(_row(subscriber))
                continue
            topics = subscriber.preferences.topics
            followed = len(topics.categories) + len(topics.authors) + len(topics.phrases)
            last = subscriber.last_digest_at.strftime("%Y-%m-%d %H:%M") if subscriber.last_digest_at else "-"
            prefs = subscriber.preferences
            rows.append(
                (
                    subscriber.email,
                    subscriber.status,
                    prefs.frequency,
                    f"{prefs.hour:02d}:00",
                    prefs.timezone,
                    str(prefs.size),
                    str(followed),
                    last,
                    str(subscriber.bounce_count),
                )
            )
    if not as_json:
        print_rows(headers, rows)
        console.print(f"{shown} subscriber{'s' if shown != 1 else ''}")


def _confirm_by_mail(services: Services, added: list[Subscriber]) -> int:
    """Send confirmation mails to new pending subscribers; returns how many failed."""
    composer = services.new_composer()
    transport = services.open_transport()
    valid_days = services.settings.digest_pending_days
    failures = 0
    now = dt.datetime.now(dt.UTC)
    with count_progress("confirmation mails", len(added)) as advance:
        for subscriber, error in send_confirmations(
            services.engine, transport, composer, added, now=now, valid_days=valid_days
        ):
            advance(1)
            if error:
                failures += 1
                console.print(f"[yellow]not sent[/] to {subscriber.email}: {error}", markup=True, highlight=False)
    return failures


@app.command("add")
def add(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(metavar="EMAIL", help="The address to add.")],
    confirmed: Annotated[
        bool, typer.Option("--confirmed", metavar="", help="The person already agreed elsewhere: no confirmation mail.")
    ] = False,
    frequency: Annotated[str | None, typer.Option(help="daily, weekly or paused.")] = None,
    hour: Annotated[int | None, typer.Option(help="Delivery hour 0-23 in --timezone.")] = None,
    timezone: Annotated[str | None, typer.Option(help="IANA time zone, e.g. Europe/Paris.")] = None,
    size: Annotated[int | None, typer.Option(help="Papers per digest, 5-30.")] = None,
    category: Annotated[list[str] | None, typer.Option("--category", help="arXiv category (repeatable).")] = None,
    author: Annotated[list[str] | None, typer.Option("--author", help="Author to follow (repeatable).")] = None,
    topic: Annotated[list[str] | None, typer.Option("--topic", help="Free-text topic (repeatable).")] = None,
) -> None:
    """Add one subscriber; without --confirmed they get the confirmation mail and nothing else until they confirm."""
    fields = {
        "frequency": frequency,
        "hour": hour,
        "timezone": timezone,
        "size": size,
        "categories": category,
        "authors": author,
        "topics": topic,
    }
    run = invocation(ctx)
    try:
        address = parse_email(email)
        given = {k: v for k, v in fields.items() if v is not None}
        preferences = parse_preferences(given, run.services(migrate=False).signup_defaults)
    except InvalidSubscription as error:
        raise fail(str(error), EXIT_BAD_INPUT) from None
    services = run.services()
    engine = services.engine
    report = write_roster(
        engine, [RosterEntry(0, address, preferences)], confirmed=confirmed, now=dt.datetime.now(dt.UTC)
    )
    if report.existing:
        with engine.connect() as conn:
            existing = get_subscriber_by_email(conn, address)
        state = existing.status if existing else "on the list"
        raise fail(f"{address} is already on the list ({state}); nothing changed", EXIT_BAD_INPUT)
    if confirmed:
        console.print(f"added {address} (confirmed)")
        return
    failures = _confirm_by_mail(services, report.added)
    console.print(f"added {address} (pending); confirmation mail {'not sent' if failures else 'sent'}")
    if failures:
        raise typer.Exit(1)


@app.command("remove")
def remove(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(metavar="EMAIL", help="The address to remove.")],
    erase: Annotated[
        bool,
        typer.Option(
            "--erase", metavar="", help="Delete the address and its digest history instead of unsubscribing it."
        ),
    ] = False,
) -> None:
    """Unsubscribe an address (kept, so imports never add it back), or erase it with --erase."""
    try:
        address = parse_email(email)
    except InvalidSubscription as error:
        raise fail(str(error), EXIT_BAD_INPUT) from None
    engine = invocation(ctx).engine()
    with begin_write(engine) as conn:
        subscriber = get_subscriber_by_email(conn, address)
        if subscriber is None:
            raise fail(f"{address} is not on the subscriber list", EXIT_BAD_INPUT)
        if erase:
            delete_subscriber(conn, subscriber.id)
        else:
            unsubscribe_subscriber(conn, subscriber.id, dt.datetime.now(dt.UTC))
    console.print(f"{'erased' if erase else 'unsubscribed'} {address}")


@app.command("import")
def import_command(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(metavar="PATH", help="CSV file with an 'email' column (docs/digest.md).")],
    confirmed: Annotated[
        bool,
        typer.Option("--confirmed", metavar="", help="These people already agreed elsewhere: no confirmation mails."),
    ] = False,
    skip_invalid: Annotated[
        bool, typer.Option("--skip-invalid", metavar="", help="Import the valid rows even when some rows are invalid.")
    ] = False,
) -> None:
    """Import subscribers from CSV; every row is checked first and nothing is stored if one is bad."""
    if not path.is_file():
        raise fail(f"{path}: no such file", EXIT_BAD_INPUT)
    run = invocation(ctx)
    roster = read_roster_text(path.read_bytes(), str(path), run.services(migrate=False).signup_defaults)
    for problem in roster.problems[:MAX_PROBLEMS_SHOWN]:
        console.print(f"[yellow]invalid[/] {problem}", markup=True, highlight=False)
    if len(roster.problems) > MAX_PROBLEMS_SHOWN:
        console.print(f"... and {len(roster.problems) - MAX_PROBLEMS_SHOWN} more problems")
    if roster.problems and not skip_invalid:
        raise fail(f"{path}: {len(roster.problems)} invalid rows; nothing imported (use --skip-invalid)", 2)
    services = run.services()
    report = write_roster(services.engine, roster.entries, confirmed=confirmed, now=dt.datetime.now(dt.UTC))
    console.print(
        f"imported {len(report.added)} subscribers ({'confirmed' if confirmed else 'pending'}), "
        f"{report.existing} already on the list, {len(roster.problems)} invalid rows skipped"
    )
    if not confirmed and report.added and _confirm_by_mail(services, report.added):
        raise typer.Exit(1)
