"""Search commands: search, similar, index (catch up) and reindex (rebuild)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from sqlalchemy import Engine

from papertide.cli.context import console, fail, invocation, stdout
from papertide.cli.output import print_json_line
from papertide.cli.progress import count_progress, rate_progress
from papertide.domain.errors import InvalidQuery, InvalidRecord, PapertideError
from papertide.domain.identifiers import parse_arxiv_id
from papertide.domain.models import Hit, StoredPaper
from papertide.search.indexer import IndexReport, SearchIndexer
from papertide.search.request import Mode, SearchRequest, SearchUnavailable, Sort, describe_total
from papertide.store.papers import count_papers, get_paper_by_arxiv_id, get_papers

# Exit codes beyond 0 (done) and 1 (error): a query the syntax rejects.
EXIT_INVALID_QUERY = 2


def register(app: typer.Typer) -> None:
    """Attach the search commands to the top-level app."""
    app.command("search")(search)
    app.command("similar")(similar)
    app.command("index")(index)
    app.command("reindex")(reindex)


def _rows(engine: Engine, hits: list[Hit]) -> list[tuple[StoredPaper, Hit]]:
    with engine.connect() as conn:
        papers = {stored.id: stored for stored in get_papers(conn, [hit.paper_id for hit in hits])}
    return [(papers[hit.paper_id], hit) for hit in hits if hit.paper_id in papers]


def _payload(stored: StoredPaper, hit: Hit, rank: int, base_url: str) -> dict[str, Any]:
    paper = stored.paper
    return {
        "rank": rank,
        "arxiv_id": paper.arxiv_id,
        "title": paper.title,
        "score": round(hit.score, 6),
        "authors": list(paper.authors),
        "categories": list(paper.categories),
        "published": paper.published.isoformat() if paper.published else None,
        "upvotes": stored.upvotes,
        "ranks": dict(hit.detail),
        "url": f"{base_url.rstrip('/')}/papers/{paper.arxiv_id}",
    }


def _print(rows: list[tuple[StoredPaper, Hit]], first_rank: int, as_json: bool, base_url: str) -> None:
    if as_json:
        for rank, (stored, hit) in enumerate(rows, start=first_rank):
            print_json_line(_payload(stored, hit, rank, base_url))
        return
    for rank, (stored, hit) in enumerate(rows, start=first_rank):
        paper = stored.paper
        stdout.print(f"{rank:>3}. [bold]{paper.title}[/]  [dim]{paper.arxiv_id} · {hit.score:.3f}[/]", highlight=False)


def search(
    ctx: typer.Context,
    query: Annotated[
        str, typer.Argument(metavar="QUERY", help='Words, "quoted phrases", author:"Name", cat:cs.LG, since:, until:.')
    ],
    mode: Annotated[Mode, typer.Option(help="hybrid (meaning and words), lexical or semantic.")] = "hybrid",
    sort: Annotated[Sort, typer.Option(help="relevance, trending or newest.")] = "relevance",
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=1000, help="Results per page.")] = 10,
    page: Annotated[int, typer.Option(min=1, help="Which page of results.")] = 1,
    as_json: Annotated[bool, typer.Option("--json", metavar="", help="Print JSON lines, one hit each.")] = False,
    explain: Annotated[
        bool, typer.Option("--explain", metavar="", help="Show how the query was understood and run.")
    ] = False,
) -> None:
    """Search the stored papers by meaning and by words."""
    services = invocation(ctx).services()
    service = services.search
    try:
        result = service.search(SearchRequest(text=query, mode=mode, sort=sort, page=page, per_page=limit))
    except InvalidQuery as error:
        raise fail(str(error), EXIT_INVALID_QUERY) from None
    except SearchUnavailable as error:
        raise fail(str(error)) from None
    for notice in result.notices:
        console.print(f"[yellow]note:[/] {notice}", highlight=False)
    if not as_json:
        console.print(describe_total(result.total, result.total_exact), highlight=False)
    if explain:
        for line in result.explain:
            console.print(line, markup=False, highlight=False)
        for hit in result.hits:
            details = ", ".join(f"{key}={value:g}" for key, value in sorted(hit.detail.items()))
            console.print(f"  paper {hit.paper_id}: score {hit.score:.6f} ({details})", markup=False)
    _print(_rows(service.engine, result.hits), (page - 1) * limit + 1, as_json, services.settings.base_url)
    if not as_json and result.has_more:
        console.print(f"more results: --page {page + 1}")


def similar(
    ctx: typer.Context,
    arxiv_id: Annotated[str, typer.Argument(metavar="ARXIV_ID", help="The paper, e.g. 2405.15738 or math/0601001.")],
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=100, help="How many papers.")] = 10,
    as_json: Annotated[bool, typer.Option("--json", metavar="", help="Print JSON lines, one hit each.")] = False,
) -> None:
    """Papers nearest in meaning to one paper."""
    try:
        key, _version = parse_arxiv_id(arxiv_id)
    except InvalidRecord as error:
        raise fail(error.reason) from None
    services = invocation(ctx).services()
    service = services.search
    with service.engine.connect() as conn:
        stored = get_paper_by_arxiv_id(conn, key)
    if stored is None:
        raise fail(f"no paper {key} in this collection")
    _print(_rows(service.engine, service.similar(stored.id, limit)), 1, as_json, services.settings.base_url)


def _run_with_progress(indexer: SearchIndexer, *, rebuild: bool) -> IndexReport:
    with indexer.engine.connect() as conn:
        total = count_papers(conn)
    # A catch-up's amount of work is only known to each index as it goes. One bar at a time:
    # rich shows a single live display.
    known = total if rebuild else None
    with count_progress("lexical index", known) as advance:
        lexical = indexer.rebuild_lexical(advance) if rebuild else indexer.catch_up_lexical(advance)
    pending, backend = indexer.plan_semantic()
    label = f"embeddings ({backend})" if backend else "embeddings"
    with rate_progress(label, known if rebuild else pending, "papers") as advance:
        embedded, note = indexer.rebuild_semantic(advance) if rebuild else indexer.catch_up_semantic(advance)
    return IndexReport(lexical=lexical, semantic=embedded, note=note, failed=embedded is None)


def index(ctx: typer.Context) -> None:
    """Catch the search indexes up: apply changed papers and embed those without a vector.

    Exits 1 when papers could not be embedded (they are still found by words).
    """
    try:
        report = _run_with_progress(invocation(ctx).services().indexer, rebuild=False)
    except PapertideError as error:
        raise fail(str(error)) from None
    console.print(report.summary(), soft_wrap=True, markup=False)
    if report.failed:
        raise typer.Exit(1)


def reindex(ctx: typer.Context) -> None:
    """Rebuild the search indexes from the database (after changing the model or analyzer).

    Exits 1 when papers could not be embedded (they are still found by words).
    """
    try:
        report = _run_with_progress(invocation(ctx).services().indexer, rebuild=True)
    except PapertideError as error:
        raise fail(str(error)) from None
    console.print(report.summary(), soft_wrap=True, markup=False)
    if report.failed:
        raise typer.Exit(1)
