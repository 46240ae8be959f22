"""The built-in network sources and how a scheduled run of each is set up.

A plain list, as datasette keeps its built-in plugins: the scheduler in `papertide serve`
and `papertide ingest status` look sources up here by name. The file sources (snapshot,
JSONL) need a path, so they run from the CLI only.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from sqlalchemy import Engine

from papertide.domain.clock import utc_now
from papertide.domain.errors import PapertideError
from papertide.ingest.arxiv_api import ArxivApiSource
from papertide.ingest.hf_daily import HfDailySource
from papertide.ingest.http import PoliteClient, Politeness
from papertide.ingest.oai import OaiSource, read_resume_date
from papertide.ingest.pipeline import ChangeHook, run_source
from papertide.ingest.report import IngestReport
from papertide.ingest.source import Source


@dataclass(frozen=True, slots=True)
class SourceConfig:
    """Where the sources live and what a scheduled run asks for; built from Settings by cli and web."""

    politeness: Politeness
    arxiv_api_url: str = "https://export.arxiv.org/api/query"
    arxiv_oai_url: str = "https://oaipmh.arxiv.org/oai"
    hf_daily_url: str = "https://huggingface.co/api/daily_papers"
    arxiv_api_query: str = ""
    arxiv_api_max: int = 1000
    arxiv_api_page_size: int = 100
    oai_set: str | None = None
    oai_prefix: str = "arXiv"
    hf_daily_days: int = 2


@dataclass(frozen=True, slots=True)
class SourceKind:
    """A schedulable source: its name, what it collects and how a scheduled run is built."""

    name: str
    summary: str
    build: Callable[[Engine, SourceConfig, PoliteClient, dt.date], Source]


def _arxiv_api(engine: Engine, config: SourceConfig, client: PoliteClient, today: dt.date) -> Source:
    if not config.arxiv_api_query.strip():
        raise PapertideError("arxiv-api: no query configured (set PAPERTIDE_INGEST_ARXIV_API_QUERY)")
    return ArxivApiSource(
        client,
        config.arxiv_api_url,
        config.arxiv_api_query,
        max_results=config.arxiv_api_max,
        page_size=config.arxiv_api_page_size,
    )


def _oai(engine: Engine, config: SourceConfig, client: PoliteClient, today: dt.date) -> Source:
    resume = read_resume_date(engine, config.oai_set, config.oai_prefix)
    return OaiSource(client, config.arxiv_oai_url, set_spec=config.oai_set, prefix=config.oai_prefix, from_date=resume)


def _hf_daily(engine: Engine, config: SourceConfig, client: PoliteClient, today: dt.date) -> Source:
    # Upvotes keep coming after the featured day, so a run re-reads the last few listings.
    days = max(1, config.hf_daily_days)
    return HfDailySource(client, config.hf_daily_url, [today - dt.timedelta(days=n) for n in reversed(range(days))])


SOURCES: tuple[SourceKind, ...] = (
    SourceKind("arxiv-api", "arXiv API search query (Atom), newest updates first", _arxiv_api),
    SourceKind("oai", "arXiv OAI-PMH ListRecords, incremental per set and prefix", _oai),
    SourceKind("hf-daily", "Hugging Face daily papers with upvotes and comment counts", _hf_daily),
)


def find_source(name: str) -> SourceKind:
    """The schedulable source of that name; ValueError lists the known ones."""
    for kind in SOURCES:
        if kind.name == name:
            return kind
    raise ValueError(f"unknown source {name!r}; known: {', '.join(kind.name for kind in SOURCES)}")


def open_client(
    name: str,
    config: SourceConfig,
    *,
    transport: httpx.BaseTransport | None = None,
    stop: threading.Event | None = None,
) -> PoliteClient:
    """A polite client for one run; with ``stop``, waits end early and the run stops when it is set."""
    if stop is None:
        return PoliteClient(name, config.politeness, transport=transport)
    return PoliteClient(name, config.politeness, transport=transport, sleep=stop.wait, should_stop=stop.is_set)


def run_scheduled(
    name: str,
    engine: Engine,
    config: SourceConfig,
    *,
    on_changed: ChangeHook | None = None,
    stop: threading.Event | None = None,
    transport: httpx.BaseTransport | None = None,
    today: dt.date | None = None,
) -> IngestReport:
    """One run of a source with its configured defaults, as the scheduler and cron run it."""
    kind = find_source(name)
    with open_client(name, config, transport=transport, stop=stop) as client:
        source = kind.build(engine, config, client, today or utc_now().date())
        return run_source(engine, source, on_changed=on_changed, should_stop=stop.is_set if stop is not None else None)
