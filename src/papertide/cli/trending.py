"""``papertide trending``: the same lists as the web pages, in a terminal or as JSON."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer
from rich.markup import escape

from papertide.cli.context import console, fail, invocation, stdout
from papertide.cli.output import print_json_line
from papertide.domain.clock import utc_now
from papertide.domain.periods import InvalidPeriod
from papertide.listing import ListKind, compose_list_out
from papertide.store.listings import PeriodList
from papertide.store.trending import TrendingList


def register(app: typer.Typer) -> None:
    """Attach ``trending`` to the top-level app."""
    app.command("trending")(trending)


def _parse_now(text: str | None, zone: dt.tzinfo) -> dt.datetime:
    if text is None:
        return utc_now()
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise fail(f"--now {text!r} is not an ISO date-time such as 2026-11-28T09:00+01:00", 2) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment


def _heading(result: TrendingList | PeriodList, window_days: int) -> str:
    if isinstance(result, PeriodList):
        return f"Papers of {result.period.label} ({result.total}), most upvoted first"
    window = result.window
    if window.is_fallback:
        return (
            f"Nothing listed in the last {window_days} days; trending on {window.until.isoformat()}, "
            f"the latest day with papers ({result.total} papers from {window.since.isoformat()})"
        )
    return f"Trending now: {result.total} papers listed {window.since.isoformat()} to {window.until.isoformat()}"


def trending(
    ctx: typer.Context,
    period: Annotated[
        ListKind, typer.Option("--period", "-p", help="now (decayed trending score), day, week or month.")
    ] = "now",
    date: Annotated[
        str | None,
        typer.Option(
            "--date", "-d", help="2026-11-27, 2026-W48, 2026-11, or a day inside the week or month (default: latest)."
        ),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=1000, help="How many papers.")] = 20,
    now: Annotated[
        str | None, typer.Option("--now", help="Compute as of this ISO date-time instead of the current time.")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", metavar="", help="Print the list as one JSON line (the API's shape).")
    ] = False,
) -> None:
    """Show trending now, or a day's, week's or month's papers by upvotes."""
    run = invocation(ctx)
    config = run.settings
    lists = run.services(migrate=False).lists
    moment = _parse_now(now, lists.zone)
    with run.engine().connect() as conn:
        try:
            result = lists.read(conn, kind=period, date_text=date, now=moment, limit=limit)
        except InvalidPeriod as error:
            raise fail(str(error), 2) from None
    if as_json:
        payload = compose_list_out(result, base_url=config.base_url, offset=0).model_dump(mode="json")
        print_json_line(payload)
        return
    console.print(_heading(result, config.trending_window_days), soft_wrap=True)
    if isinstance(result, PeriodList) and (result.previous or result.next):
        around = [
            f"previous {result.previous.key}" if result.previous else "",
            f"next {result.next.key}" if result.next else "",
        ]
        console.print(f"[dim]{', '.join(part for part in around if part)}[/]")
    if not result.papers:
        console.print("no papers")
        return
    for ranked in result.papers:
        paper = ranked.item.paper
        score = f" · score {ranked.score:.4g}" if isinstance(result, TrendingList) else ""
        stdout.print(
            f"{ranked.rank:>3}. [bold]▲ {ranked.item.upvotes:>4}[/]  {escape(paper.title)}  "
            f"[dim]{paper.arxiv_id} · {paper.listing_date}{score}[/]"
        )
