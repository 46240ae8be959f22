"""Commands of the core: init and db upgrade (serve is in cli/serve.py, search in cli/search.py)."""

from __future__ import annotations

import datetime as dt
import time
from typing import Annotated

import typer

from papertide.cli.context import console, fail, invocation
from papertide.cli.progress import count_progress, file_progress
from papertide.cli.serve import serve
from papertide.domain.errors import PapertideError
from papertide.domain.periods import local_date
from papertide.ingest.jsonl import read_jsonl_papers
from papertide.ingest.pipeline import run_ingest
from papertide.ingest.sample import newest_sample_listing, open_sample, sample_name, shift_papers
from papertide.services import Services
from papertide.store.migrate import current_revision, head_revision
from papertide.store.papers import count_papers


def register(app: typer.Typer) -> None:
    """Attach the core commands to the top-level app."""
    app.command("init")(init)
    app.command("serve")(serve)
    db = typer.Typer(help="Database schema.", no_args_is_help=True)
    db.command("upgrade")(db_upgrade)
    app.add_typer(db, name="db")


def init(
    ctx: typer.Context,
    sample: Annotated[
        bool, typer.Option("--sample", metavar="", help="Load the bundled sample corpus when the database is empty.")
    ] = False,
    today: Annotated[
        str | None,
        typer.Option(
            "--today",
            metavar="YYYY-MM-DD",
            help="With --sample: move the sample's dates so its newest listing day is this date "
            "(default: today in the lists' time zone).",
        ),
    ] = None,
) -> None:
    """Create or upgrade the database; optionally load the sample corpus."""
    services = invocation(ctx).services()
    engine = services.engine
    with engine.connect() as conn:
        existing = count_papers(conn)
    console.print(f"database ready at {services.settings.database_url} (schema {current_revision(engine)})")
    if not sample:
        return
    if existing:
        console.print(f"{existing} papers already stored; sample not loaded")
        return
    target = _sample_today(today, services)
    days = (target - newest_sample_listing()).days
    with open_sample() as handle, file_progress("loading sample", handle) as advance:
        papers = shift_papers(read_jsonl_papers(handle, sample_name(), advance), days)
        report = run_ingest(engine, "sample", papers)
    console.print(f"sample dates moved by {days} days: its newest listing day is {target.isoformat()}")
    console.print(report.summary())
    _make_sample_searchable(services, report.new)


def _sample_today(text: str | None, services: Services) -> dt.date:
    """The day the sample's newest listing lands on: --today, or today in the lists' time zone."""
    if text is None:
        return local_date(services.clock(), services.lists.zone)
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise fail(f"--today {text!r} is not a date like 2026-08-21", 2) from None


def _make_sample_searchable(services: Services, papers: int) -> None:
    """Index the sample at once, with its precomputed vectors instead of an embedding run (issue 4)."""
    from papertide.search.semantic.sample import import_precomputed, read_precomputed, sample_vectors_file

    settings = services.settings
    with count_progress("lexical index", papers) as advance:
        services.indexer.catch_up_lexical(advance)
    try:
        searcher = services.semantic()
        bundled = sample_vectors_file()
        imported = import_precomputed(searcher, read_precomputed(bundled)) if bundled else 0
        console.print(f"stored {imported} precomputed vectors of the sample")
        with count_progress("embeddings", searcher.pending()) as advance:
            searcher.sync(advance)
        console.print(
            f"preparing the embedding model {settings.embedding_model} ({settings.embedding_backend}; "
            "the first time, it is exported to ONNX: up to a minute)"
        )
        started = time.perf_counter()
        searcher.check()
        _ = searcher.embedder
        console.print(f"embedding model ready: done in {time.perf_counter() - started:.0f} s")
    except (PapertideError, OSError, ImportError) as error:
        console.print(f"semantic search is not ready ({error}); the sample is searchable by words")


def db_upgrade(ctx: typer.Context) -> None:
    """Apply pending schema migrations (run on every deploy)."""
    run = invocation(ctx)
    before = current_revision(run.engine(migrate=False))
    run.services(migrate=True)
    console.print(f"schema {before or 'empty'} -> {head_revision()}")
