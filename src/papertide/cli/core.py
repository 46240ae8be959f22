"""Commands of the core: init, serve, search, db upgrade."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from papertide.cli.context import console, fail, open_engine, settings, stdout
from papertide.cli.progress import file_progress
from papertide.domain.errors import InvalidQuery
from papertide.ingest.jsonl import read_jsonl_papers
from papertide.ingest.pipeline import run_ingest
from papertide.ingest.sample import open_sample, sample_name
from papertide.search.query import search as run_search
from papertide.store.migrate import current_revision, head_revision
from papertide.store.papers import count_papers, get_papers


def register(app: typer.Typer) -> None:
    """Attach the core commands to the top-level app."""
    app.command("init")(init)
    app.command("serve")(serve)
    app.command("search")(search)
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


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", envvar="PORT")] = 8000,
    get: Annotated[str | None, typer.Option("--get", help="Fetch one PATH in-process, print it and exit.")] = None,
) -> None:
    """Serve the web app and API (and, when configured, the scheduled jobs)."""
    from papertide.web.app import create_app

    app = create_app(settings())
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


def search(
    query: Annotated[str, typer.Argument(help='Words, "quoted phrases".')],
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=1000, help="How many results.")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list of hits.")] = False,
) -> None:
    """Search the stored papers."""
    engine = open_engine()
    with engine.connect() as conn:
        try:
            hits = run_search(conn, query, limit=limit)
        except InvalidQuery as error:
            raise fail(str(error), 2) from None
        papers = {p.id: p for p in get_papers(conn, [hit.paper_id for hit in hits])}
    rows = [(papers[hit.paper_id], hit) for hit in hits if hit.paper_id in papers]
    if as_json:
        payload = [
            {
                "arxiv_id": item.paper.arxiv_id,
                "title": item.paper.title,
                "score": round(hit.score, 6),
                "authors": list(item.paper.authors),
                "published": item.paper.published.isoformat() if item.paper.published else None,
                "upvotes": item.upvotes,
                "url": f"{settings().base_url.rstrip('/')}/papers/{item.paper.arxiv_id}",
            }
            for item, hit in rows
        ]
        stdout.print(json.dumps(payload, ensure_ascii=False, indent=2), markup=False, highlight=False)
        return
    if not rows:
        console.print("no results")
        return
    for rank, (item, hit) in enumerate(rows, start=1):
        stdout.print(f"{rank:>3}. [bold]{item.paper.title}[/]  [dim]{item.paper.arxiv_id} · {hit.score:.3f}[/]")


def db_upgrade() -> None:
    """Apply pending schema migrations (run on every deploy)."""
    engine = open_engine(migrate=False)
    before = current_revision(engine)
    engine = open_engine(migrate=True)
    console.print(f"schema {before or 'empty'} -> {head_revision()}")
