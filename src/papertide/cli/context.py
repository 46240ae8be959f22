"""Building settings, engine and console the same way for every command."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from functools import lru_cache

import typer
from rich.console import Console
from sqlalchemy import Engine

from papertide.cli.logs import configure_logging
from papertide.config import Settings, load_settings
from papertide.domain.errors import PapertideError
from papertide.search.indexer import SearchIndexer
from papertide.search.query import SearchService
from papertide.store.engine import make_engine
from papertide.store.migrate import upgrade_database

# Human-facing output goes to stderr so that --json output on stdout stays machine-readable.
console = Console(stderr=True, highlight=False)
stdout = Console(highlight=False, soft_wrap=True)


@lru_cache(maxsize=1)
def settings() -> Settings:
    """Settings of this invocation (environment + TOML file)."""
    loaded = load_settings()
    configure_logging(loaded.log_level, loaded.log_json)
    return loaded


def open_engine(*, migrate: bool = True) -> Engine:
    """The database engine, with the schema brought up to date first (embedded setups need no step)."""
    engine = make_engine(settings().database_url)
    if migrate:
        upgrade_database(engine)
    return engine


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print an error for a person and return the Exit to raise."""
    console.print(f"[bold red]error:[/] {message}", markup=True, highlight=False)
    return typer.Exit(code)


def open_search(engine: Engine | None = None) -> SearchService:
    """The search service built from the settings, as the web app builds it (web.app.make_search_service).

    The lexical index is opened (built or caught up) on first use; the embedding model only
    loads when a query needs it.
    """
    from papertide.web.app import make_search_service

    return make_search_service(settings(), engine or open_engine())


def open_indexer(engine: Engine | None = None) -> SearchIndexer:
    """The write side of search built from the settings (index, reindex, ingestion hooks)."""
    from papertide.web.app import make_search_indexer

    return make_search_indexer(settings(), engine or open_engine())


def index_hook(engine: Engine) -> Callable[[Sequence[int]], None]:
    """What ingestion calls with the ids of papers it stored or changed, after each batch.

    The lexical index applies the batch at once (by the change sequence, only those papers);
    a batch of at most ``search_embed_batch_limit`` papers is embedded too (issue 4).
    """
    indexer = open_indexer(engine)
    log = logging.getLogger("papertide.search")

    def index(paper_ids: Sequence[int]) -> None:
        report = indexer.index_changed(paper_ids)
        log.info("indexed a batch: %s", report.summary())

    return index


__all__ = [
    "PapertideError",
    "console",
    "fail",
    "index_hook",
    "open_engine",
    "open_indexer",
    "open_search",
    "settings",
    "stdout",
]
