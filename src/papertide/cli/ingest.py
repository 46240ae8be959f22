"""`papertide ingest SOURCE ...`: one command per source; exit codes in README."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from papertide.cli.context import console, fail, open_engine
from papertide.cli.progress import file_progress
from papertide.ingest.jsonl import open_jsonl, read_jsonl_papers
from papertide.ingest.pipeline import run_ingest
from papertide.ingest.report import EXIT_FAILURE, IngestReport

app = typer.Typer(
    help="Collect papers from a source. Exit 0: papers stored; 3: nothing new; 1: failure.",
    no_args_is_help=True,
)

MAX_PROBLEMS_SHOWN = 20


def finish(report: IngestReport) -> None:
    """Print the problems and the summary, then exit with the documented code."""
    for problem in report.problems[:MAX_PROBLEMS_SHOWN]:
        console.print(f"[yellow]skipped[/] {problem}", markup=True, highlight=False)
    if len(report.problems) > MAX_PROBLEMS_SHOWN:
        console.print(f"... and {len(report.problems) - MAX_PROBLEMS_SHOWN} more skipped records")
    if report.failure:
        console.print(f"[bold red]failed:[/] {report.failure}", markup=True, highlight=False)
    console.print(report.summary(), markup=False)
    raise typer.Exit(report.exit_code)


@app.command("jsonl")
def ingest_jsonl(
    path: Annotated[Path, typer.Argument(help="A JSON-lines file in papertide's schema (docs/jsonl.md).")],
) -> None:
    """Import papers from a JSON-lines file; idempotent."""
    if not path.is_file():
        raise fail(f"{path}: no such file", EXIT_FAILURE)
    engine = open_engine()
    with open_jsonl(path) as handle, file_progress(f"ingest {path.name}", handle) as advance:
        report = run_ingest(engine, "jsonl", read_jsonl_papers(handle, str(path), advance))
    finish(report)
