"""`papertide doctor`: checks what an operator would otherwise find out from a failing page."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from typing import Annotated

import typer

from papertide.cli.context import Invocation, console, invocation, stdout
from papertide.mail.transport import DeliveryError, SmtpTransport
from papertide.search.lexical.index import LexicalIndex, directory_for
from papertide.store.migrate import current_revision, head_revision
from papertide.store.papers import count_papers

Check = Callable[[Invocation], str]


def check_database(run: Invocation) -> str:
    """The database answers and its schema is the one this version expects."""
    engine = run.engine(migrate=False)
    current, head = current_revision(engine), head_revision()
    if current != head:
        raise RuntimeError(f"schema at {current or 'empty'}, this version needs {head}: run `papertide db upgrade`")
    with engine.connect() as conn:
        papers = count_papers(conn)
    return f"{engine.dialect.name}, schema {current}, {papers:,} papers"


def check_data_dir(run: Invocation) -> str:
    """The data directory exists and is writable (indexes, outbox, secret key live there)."""
    directory = run.settings.data_dir
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=directory, prefix=".doctor-"):
        pass
    return f"{directory.resolve()} writable"


def check_mail(run: Invocation) -> str:
    """SMTP answers (when configured), or the outbox directory is writable."""
    url = run.settings.smtp_url.get_secret_value()
    if not url:
        outbox = run.settings.outbox_dir
        outbox.mkdir(parents=True, exist_ok=True)
        if not os.access(outbox, os.W_OK):
            raise RuntimeError(f"{outbox} is not writable")
        return f"no SMTP configured: mail is written to {outbox}"
    try:
        return SmtpTransport(url, timeout=10).probe()
    except DeliveryError as error:
        raise RuntimeError(str(error)) from None


def check_lexical_index(run: Invocation) -> str:
    """The word index on disk is readable and has applied every change of the database."""
    index = LexicalIndex(run.engine(migrate=False), directory_for(run.settings.data_dir))
    problem, applied, latest = index.inspect()
    if problem is not None:
        raise RuntimeError(
            f"{index.path} {problem}: `papertide serve` or `papertide index` rebuilds it from the database"
        )
    if applied < latest:
        raise RuntimeError(
            f"{index.path} applied changes up to seq {applied}, the database is at {latest}: run `papertide index`"
        )
    return f"{index.paper_count:,} papers, up to date (seq {applied})"


def check_vector_index(run: Invocation) -> str:
    """The vector snapshot is readable and every paper has a vector of the configured model."""
    from papertide.search.semantic.index import IndexConfig
    from papertide.search.semantic.model import resolve_model
    from papertide.search.semantic.searcher import vector_directory_for
    from papertide.search.semantic.snapshot import UnreadableSnapshot, load_snapshot
    from papertide.search.semantic.vectors import VectorSpace, fetch_pending_count, fetch_space

    folder = vector_directory_for(run.settings.data_dir)
    engine = run.engine(migrate=False)
    with engine.connect() as conn:
        papers = count_papers(conn)
        recorded = fetch_space(conn)
        configured = VectorSpace(resolve_model(run.settings.embedding_model).name, recorded.dim if recorded else 0)
        if recorded is not None and not recorded.accepts(configured):
            raise RuntimeError(
                f"the stored vectors were computed with {recorded.describe()}, the settings ask for "
                f"{configured.describe()}: run `papertide reindex`"
            )
        pending = fetch_pending_count(conn, configured)
    try:
        snapshot = load_snapshot(folder, IndexConfig())
    except UnreadableSnapshot as error:
        raise RuntimeError(f"{error}: `papertide serve` or `papertide index` rebuilds it from the database") from None
    if pending:
        raise RuntimeError(f"{pending:,} of {papers:,} papers have no current vector: run `papertide index`")
    if snapshot is None:
        return f"{papers:,} papers with vectors; no snapshot yet (built at the next start)"
    return f"{papers:,} papers with vectors, snapshot of {len(snapshot[0]):,} readable"


def check_model(run: Invocation) -> str:
    """The configured embedding model loads (an ONNX export is made when missing) and embeds a query."""
    from papertide.search.semantic.embedder import load_embedder
    from papertide.search.semantic.searcher import model_cache_for

    settings = run.settings
    embedder = load_embedder(
        settings.embedding_model, settings.embedding_backend, model_cache_for(settings.data_dir), threads=1
    )
    vector = embedder.embed_query("papertide doctor")
    return f"{embedder.name} on {settings.embedding_backend}: {len(vector)} dimensions"


CHECKS: list[tuple[str, Check]] = [
    ("database", check_database),
    ("data-dir", check_data_dir),
    ("lexical-index", check_lexical_index),
    ("vector-index", check_vector_index),
    ("model", check_model),
    ("mail", check_mail),
]
CHECK_NAMES = [name for name, _ in CHECKS]


def _valid_skips(values: list[str] | None) -> list[str] | None:
    unknown = [value for value in values or [] if value not in CHECK_NAMES]
    if unknown:
        raise typer.BadParameter(
            f"unknown check {', '.join(map(repr, unknown))}; the checks are {', '.join(CHECK_NAMES)}"
        )
    return values


def doctor(
    ctx: typer.Context,
    skip: Annotated[
        list[str] | None,
        typer.Option(
            "--skip", help=f"A check to leave out (repeatable): {', '.join(CHECK_NAMES)}.", callback=_valid_skips
        ),
    ] = None,
) -> None:
    """Check the database, data directory, search indexes, embedding model and mail; exit 1 on a problem.

    The indexes must be readable and caught up with the database; the model must load (the
    ONNX export is made when missing, which can take a minute).
    """
    failures = 0
    run = invocation(ctx)
    # One plain line per check, "ok|failed|skipped  name  detail", readable by people and by scripts.
    for name, check in CHECKS:
        if skip and name in skip:
            stdout.print(f"{'skipped':<8}{name:<15}--skip {name}", markup=False, highlight=False)
            continue
        try:
            status, detail = "ok", check(run)
        except Exception as error:  # every failure is a finding to report, not a crash
            failures += 1
            status, detail = "failed", str(error) or type(error).__name__
        stdout.print(f"{status:<8}{name:<15}{detail}", markup=False, highlight=False, soft_wrap=True)
    if failures:
        console.print(f"doctor: {failures} check{'s' if failures > 1 else ''} failed")
    raise typer.Exit(1 if failures else 0)
