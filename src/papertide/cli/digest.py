"""`papertide digest run | preview`: send the digests that are due, or show one without sending."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from sqlalchemy import Engine

from papertide.cli.context import console, fail, open_engine, open_search, settings, stdout
from papertide.digest.compose import MailComposer
from papertide.digest.job import Progress as ProgressHook
from papertide.digest.job import run_digest
from papertide.digest.plan import TopicMatcher, make_topic_matcher
from papertide.digest.preferences import InvalidSubscription, parse_email
from papertide.digest.preview import run_preview
from papertide.domain.clock import as_utc, utc_now
from papertide.domain.periods import local_date
from papertide.mail.transport import make_transport
from papertide.store.deliveries import count_deliveries
from papertide.store.subscribers import count_subscribers, get_subscriber_by_email
from papertide.web.digest_settings import digest_policy, mail_site

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


def topic_matcher(engine: Engine, now: dt.datetime) -> TopicMatcher:
    """Free-text topics matched by the search service (hybrid: by meaning and by words), opened on first use."""
    policy = digest_policy(settings())
    since = local_date(now - policy.max_lookback, dt.UTC)
    opened: list[TopicMatcher] = []

    def match(text: str, hits: int) -> list[int]:
        if not opened:
            opened.append(make_topic_matcher(open_search(engine).search_ids, since))
        return list(opened[0](text, hits))

    return match


@contextmanager
def run_progress() -> Iterator[ProgressHook]:
    """Two bars, planning and sending, shown only on a terminal."""
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False, disable=not console.is_terminal) as progress:
        tasks: dict[str, TaskID] = {}

        def advance(phase: str, count: int) -> None:
            if phase not in tasks:
                tasks[phase] = progress.add_task("planning" if phase == "plan" else "sending", total=None)
            progress.advance(tasks[phase], count)

        yield advance


@app.command("run")
def run(
    now: Annotated[
        str | None,
        typer.Option("--now", help="Plan as if it were this ISO 8601 instant (default: the current time)."),
    ] = None,
) -> None:
    """Send every digest due now, by each subscriber's time zone and hour; safe to run at any time."""
    config = settings()
    planning_now = parse_now(now)
    engine = open_engine()
    composer = MailComposer(mail_site(config, config.secret()))
    moment = planning_now or utc_now()
    with run_progress() as progress:
        report = run_digest(
            engine,
            partial(make_transport, config.smtp_url.get_secret_value(), config.outbox_dir),
            composer,
            now=planning_now,
            policy=digest_policy(config),
            matcher=topic_matcher(engine, moment),
            progress=progress,
        )
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
    email: Annotated[str, typer.Argument(help="A subscriber's address.")],
    out: Annotated[Path | None, typer.Option("--out", help="Write the .eml file here instead of printing it.")] = None,
    now: Annotated[str | None, typer.Option("--now", help="Compose as of this ISO 8601 instant.")] = None,
) -> None:
    """Compose the digest EMAIL would get now, without storing or sending anything."""
    config = settings()
    try:
        address = parse_email(email)
    except InvalidSubscription as error:
        raise fail(str(error), EXIT_BAD_INPUT) from None
    engine = open_engine()
    with engine.connect() as conn:
        subscriber = get_subscriber_by_email(conn, address)
    if subscriber is None:
        raise fail(f"{address} is not on the subscriber list (see `papertide subscribers list`)", EXIT_BAD_INPUT)
    moment = parse_now(now) or utc_now()
    raw = run_preview(
        engine,
        MailComposer(mail_site(config, config.secret())),
        subscriber,
        now=moment,
        policy=digest_policy(config),
        matcher=topic_matcher(engine, moment),
    )
    if raw is None:
        console.print(f"nothing new for {address} since their last digest: no digest would be sent")
        return
    if out is not None:
        out.write_bytes(raw.data)
        console.print(f"wrote {out} ({len(raw.data)} bytes)")
        return
    stdout.print(raw.data.decode("ascii", "replace"), markup=False, highlight=False)
