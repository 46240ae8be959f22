"""Building settings, engine and console the same way for every command."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache

import typer
from rich.console import Console
from sqlalchemy import Engine

from papertide.cli.logs import configure_logging
from papertide.config import Settings, load_settings
from papertide.domain.errors import PapertideError
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


def index_hook(engine: Engine) -> Callable[[Sequence[int]], None]:
    """What ingestion calls with the ids of papers it stored or changed, after each batch.

    SQLite's FTS5 index follows every upsert through triggers, so nothing more is needed yet;
    the search layer's own indexes hook in here (issue 4).
    """

    def index(paper_ids: Sequence[int]) -> None:
        return None

    return index


__all__ = ["PapertideError", "console", "fail", "index_hook", "open_engine", "settings", "stdout"]
