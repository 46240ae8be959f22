"""Commands of the core: init, serve, db upgrade (search is in cli/search.py)."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy import Engine

from papertide.cli.context import console, open_engine, open_indexer, settings, stdout
from papertide.cli.progress import count_progress, file_progress
from papertide.domain.errors import PapertideError
from papertide.ingest.jsonl import read_jsonl_papers
from papertide.ingest.pipeline import run_ingest
from papertide.ingest.sample import open_sample, sample_name
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
    sample: Annotated[
        bool, typer.Option("--sample", help="Load the bundled sample corpus when the database is empty.")
    ] = False,
) -> None:
    """Create or upgrade the database; optionally load the sample corpus."""
    engine = open_engine()
    with engine.connect() as conn:
        existing = count_papers(conn)
    console.print(f"database ready at {settings().database_url} (schema {current_revision(engine)})")
    if not sample:
        return
    if existing:
        console.print(f"{existing} papers already stored; sample not loaded")
        return
    with open_sample() as handle, file_progress("loading sample", handle) as advance:
        report = run_ingest(engine, "sample", read_jsonl_papers(handle, sample_name(), advance))
    console.print(report.summary())
    _make_sample_searchable(engine, report.new)


def _make_sample_searchable(engine: Engine, papers: int) -> None:
    """Index the sample at once, with its precomputed vectors instead of an embedding run (issue 4)."""
    from papertide.search.semantic.sample import import_precomputed, read_precomputed, sample_vectors_file
    from papertide.web.app import open_shared_semantic

    with count_progress("lexical index", papers) as advance:
        open_indexer(engine).catch_up_lexical(advance)
    try:
        searcher = open_shared_semantic(settings(), engine)
        bundled = sample_vectors_file()
        imported = import_precomputed(searcher, read_precomputed(bundled)) if bundled else 0
        console.print(f"stored {imported} precomputed vectors of the sample")
        with count_progress("embeddings", searcher.pending()) as advance:
            searcher.sync(advance)
        console.print(f"preparing the embedding model {settings().embedding_model} ({settings().embedding_backend})")
        searcher.check()
        _ = searcher.embedder
    except (PapertideError, OSError, ImportError) as error:
        console.print(f"semantic search is not ready ({error}); the sample is searchable by words")


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", envvar="PORT")] = 8000,
    get: Annotated[str | None, typer.Option("--get", help="Fetch one PATH in-process, print it and exit.")] = None,
) -> None:
    """Serve the web app and API (and, when configured, the scheduled jobs)."""
    from papertide.cli.context import index_hook
    from papertide.web.app import create_app

    # Scheduled jobs run only in a real server, never for a one-off --get.
    app = create_app(settings(), run_jobs=get is None, index_hook=index_hook)
    if get is not None:
        from fastapi.testclient import TestClient

        with TestClient(app) as client:
            response = client.get(get)
        stdout.print(response.text, markup=False, highlight=False)
        if response.status_code >= 400:
            raise typer.Exit(1)
        return
    import uvicorn

    console.print(f"serving on http://{host}:{port}")
    uvicorn.run(app, host=host, port=port, log_level=settings().log_level.lower(), proxy_headers=True)


def db_upgrade() -> None:
    """Apply pending schema migrations (run on every deploy)."""
    engine = open_engine(migrate=False)
    before = current_revision(engine)
    engine = open_engine(migrate=True)
    console.print(f"schema {before or 'empty'} -> {head_revision()}")
