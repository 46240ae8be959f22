"""`papertide ingest SOURCE ...`: one command per source; exit codes in docs/ingest.md."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from papertide.cli.context import console, fail, invocation, stdout
from papertide.cli.progress import count_progress, file_progress
from papertide.domain.clock import utc_now
from papertide.domain.errors import InvalidRecord
from papertide.domain.models import Paper
from papertide.ingest.arxiv_api import ArxivApiSource
from papertide.ingest.hf_daily import HfDailySource
from papertide.ingest.jsonl import open_jsonl, read_jsonl_papers
from papertide.ingest.oai import OaiSource, read_resume_date
from papertide.ingest.owner import current_owner
from papertide.ingest.pipeline import run_ingest, run_source
from papertide.ingest.registry import open_client
from papertide.ingest.report import EXIT_FAILURE, IngestReport
from papertide.ingest.snapshot import SnapshotFile, SnapshotSource, parse_category_filter
from papertide.ingest.source import Source
from papertide.store.harvest import list_harvest_states, list_last_runs
from papertide.store.leases import list_jobs
from papertide.store.runs import mark_interrupted_runs

app = typer.Typer(
    help="Collect papers from a source. Exit 0: papers stored; 3: nothing new; 1: failure.",
    no_args_is_help=True,
)

MAX_PROBLEMS_SHOWN = 20


def finish(report: IngestReport) -> None:
    """Print the problems and the summary, then exit with the documented code."""
    # soft_wrap: one line per message, so paths and URLs stay whole in logs and for grep.
    for problem in report.problems[:MAX_PROBLEMS_SHOWN]:
        console.print(f"[yellow]skipped[/] {escape(str(problem))}", highlight=False, soft_wrap=True)
    if report.skipped > MAX_PROBLEMS_SHOWN:
        console.print(f"... and {report.skipped - MAX_PROBLEMS_SHOWN} more skipped records")
    if report.failure:
        console.print(f"[bold red]failed:[/] {escape(report.failure)}", highlight=False, soft_wrap=True)
    console.print(report.summary(), markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(report.exit_code)


def _run_network(ctx: typer.Context, source: Source, label: str, total: int | None = None) -> None:
    services = invocation(ctx).services()
    with count_progress(label, total) as advance:
        report = run_source(services.engine, source, on_changed=services.index_changed, on_record=advance)
    finish(report)


def _date(value: dt.datetime | None) -> dt.date | None:
    return value.date() if value else None


@app.command("jsonl")
def ingest_jsonl(
    ctx: typer.Context,
    path: Annotated[
        Path,
        typer.Argument(
            metavar="PATH",
            help="A JSON-lines file in papertide's schema (docs/jsonl.md), or a folder of *.jsonl files.",
        ),
    ],
) -> None:
    """Import papers from a JSON-lines file, or every *.jsonl file of a folder in name order; idempotent."""
    if path.is_dir():
        files = sorted(child for child in path.glob("*.jsonl") if child.is_file())
        if not files:
            raise fail(f"{path}: a directory with no *.jsonl files in it", EXIT_FAILURE)
    elif path.is_file():
        files = [path]
    else:
        raise fail(f"{path}: no such file or directory", EXIT_FAILURE)
    services = invocation(ctx).services()

    def read_all() -> Iterator[Paper | InvalidRecord]:
        for file in files:
            with open_jsonl(file) as handle, file_progress(f"ingest {file.name}", handle) as advance:
                yield from read_jsonl_papers(handle, str(file), advance)

    report = run_ingest(services.engine, "jsonl", read_all(), on_changed=services.index_changed)
    finish(report)


@app.command("arxiv-api")
def ingest_arxiv_api(
    ctx: typer.Context,
    query: Annotated[
        str | None, typer.Option("--query", "-q", help="arXiv search query, e.g. 'cat:cs.LG AND abs:dynamics'.")
    ] = None,
    max_results: Annotated[int | None, typer.Option("--max", min=1, help="Most results to collect.")] = None,
) -> None:
    """Collect the results of an arXiv API query, newest updates first, one request every 3 s."""
    config = invocation(ctx).services(migrate=False).sources
    query = query or config.arxiv_api_query
    if not query.strip():
        raise fail("give --query or set PAPERTIDE_INGEST_ARXIV_API_QUERY", EXIT_FAILURE)
    limit = max_results or config.arxiv_api_max
    with open_client("arxiv-api", config) as client:
        source = ArxivApiSource(
            client, config.arxiv_api_url, query, max_results=limit, page_size=config.arxiv_api_page_size
        )
        _run_network(ctx, source, "arxiv-api", limit)


@app.command("oai")
def ingest_oai(
    ctx: typer.Context,
    set_spec: Annotated[
        str | None, typer.Option("--set", help="OAI-PMH set (cs, math, physics:hep-th); default from settings.")
    ] = None,
    from_date: Annotated[dt.datetime | None, typer.Option("--from", help="Records changed on or after.")] = None,
    until: Annotated[dt.datetime | None, typer.Option("--until", help="Records changed on or before.")] = None,
    prefix: Annotated[
        str | None, typer.Option("--prefix", help="Metadata format arXiv or arXivRaw; default from settings.")
    ] = None,
) -> None:
    """Harvest arXiv OAI-PMH ListRecords; without --from, continue where the last successful run stopped."""
    config = invocation(ctx).services(migrate=False).sources
    chosen_set = set_spec if set_spec is not None else config.oai_set
    chosen_prefix = prefix or config.oai_prefix
    if chosen_prefix not in ("arXiv", "arXivRaw"):
        raise fail(f"--prefix must be arXiv or arXivRaw, not {chosen_prefix!r}", 2)
    engine = invocation(ctx).engine()
    start = _date(from_date)
    if start is None:
        start = read_resume_date(engine, chosen_set or None, chosen_prefix)
        console.print(f"continuing from {start}" if start else "no earlier harvest: harvesting everything")
    with open_client("oai", config) as client:
        source = OaiSource(
            client,
            config.arxiv_oai_url,
            set_spec=chosen_set or None,
            prefix=chosen_prefix,
            from_date=start,
            until=_date(until),
        )
        _run_network(ctx, source, f"oai {chosen_set or 'all'}")


@app.command("hf-daily")
def ingest_hf_daily(
    ctx: typer.Context,
    date: Annotated[
        dt.datetime | None, typer.Option("--date", help="Featured date; default: the latest listing.")
    ] = None,
    days: Annotated[int, typer.Option("--days", min=1, max=366, help="Listings ending at --date (or today).")] = 1,
) -> None:
    """Collect Hugging Face daily papers with their upvotes and comment counts."""
    config = invocation(ctx).services(migrate=False).sources
    end = _date(date)
    if end is None and days == 1:
        dates: list[dt.date | None] = [None]
    else:
        last = end or dt.datetime.now(dt.UTC).date()
        dates = [last - dt.timedelta(days=n) for n in reversed(range(days))]
    with open_client("hf-daily", config) as client:
        _run_network(ctx, HfDailySource(client, config.hf_daily_url, dates), "hf-daily")


@app.command("snapshot")
def ingest_snapshot(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(metavar="PATH", help="arxiv-metadata-oai-snapshot.json, plain or gzipped.")],
    categories: Annotated[
        str | None, typer.Option("--categories", help="Comma-separated: 'cs.*,stat.ML' (cross-lists count).")
    ] = None,
    since: Annotated[
        dt.datetime | None, typer.Option("--since", help="Only records updated on or after this date.")
    ] = None,
) -> None:
    """Stream the bulk arXiv metadata snapshot with flat memory; filter by category and date."""
    if not path.is_file():
        raise fail(f"{path}: no such file", EXIT_FAILURE)
    services = invocation(ctx).services()
    with SnapshotFile(path) as snapshot, file_progress(f"snapshot {path.name}", snapshot.lines) as advance:
        position = 0

        def progress() -> None:
            nonlocal position
            consumed = snapshot.consumed()
            advance(consumed - position)
            position = consumed

        source = SnapshotSource(
            snapshot.lines,
            str(path),
            categories=parse_category_filter(categories),
            since=_date(since),
            on_progress=progress,
        )
        report = run_source(services.engine, source, on_changed=services.index_changed)
    if source.filtered:
        console.print(f"left out by the filters: {source.filtered}")
    finish(report)


@app.command("status")
def ingest_status(ctx: typer.Context) -> None:
    """Show each source's last run, the saved harvest states and the scheduled jobs."""
    engine = invocation(ctx).engine()
    # A run whose process was killed would say "running" for ever (issue 9).
    mark_interrupted_runs(engine, current_owner(), utc_now())
    for run in list_last_runs(engine):
        counts = ", ".join(f"{name} {run[name]}" for name in ("fetched", "new", "updated", "unchanged", "skipped"))
        line = f"run  {run['source']:<10} {run['status']:<8} {run['started_at']:%Y-%m-%d %H:%M}  {counts}"
        stdout.print(line + (f"  ({run['message']})" if run["message"] else ""), markup=False, highlight=False)
    for source, key, value, updated_at in list_harvest_states(engine):
        stdout.print(
            f"state {source} [{key}] next from {value.get('next_from')} (saved {updated_at:%Y-%m-%d %H:%M})",
            markup=False,
            highlight=False,
        )
    for job in list_jobs(engine):
        held = f", running in {job.holder}" if job.holder else ""
        last = f", last {job.last_status} at {job.last_finished_at:%Y-%m-%d %H:%M}" if job.last_finished_at else ""
        stdout.print(
            f"job  {job.name} next at {job.next_run_at:%Y-%m-%d %H:%M}{held}{last}", markup=False, highlight=False
        )
