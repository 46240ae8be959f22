"""Bookkeeping of collection: where each harvest stopped, external trending signals, last runs.

Harvest state is one JSON value per (source, key) — the OAI-PMH harvester keys it by set and
metadata prefix — so a run without an explicit start continues where the last successful one
stopped (issue 3). Signals are per-paper counts a source reports for a listing date
(Hugging Face daily papers: upvotes and comments per featured date).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from papertide.domain.models import Signal
from papertide.store.dialect import insert_for
from papertide.store.schema import harvest_state, ingest_runs, paper_signals, papers


def _upsert(conn: Connection, table: Any, rows: list[dict[str, Any]], keys: Sequence[str]) -> None:
    """Insert rows, replacing the non-key columns of rows whose keys already exist."""
    statement = insert_for(conn, table)
    updates = {name: statement.excluded[name] for name in rows[0] if name not in keys}
    conn.execute(statement.on_conflict_do_update(index_elements=list(keys), set_=updates), rows)


def read_harvest_state(engine: Engine, source: str, key: str) -> dict[str, Any] | None:
    """The state a source saved under ``key``, or None before its first successful run."""
    with engine.connect() as conn:
        value = conn.execute(
            select(harvest_state.c.value).where(harvest_state.c.source == source, harvest_state.c.key == key)
        ).scalar_one_or_none()
    return dict(value) if isinstance(value, dict) else None


def write_harvest_state(conn: Connection, source: str, key: str, value: dict[str, Any], now: dt.datetime) -> None:
    """Replace the state of (source, key) in the caller's transaction."""
    _upsert(
        conn,
        harvest_state,
        [{"source": source, "key": key, "value": value, "updated_at": now}],
        ("source", "key"),
    )


def list_harvest_states(engine: Engine) -> list[tuple[str, str, dict[str, Any], dt.datetime]]:
    """Every saved state as (source, key, value, updated_at), for `papertide ingest status`."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                harvest_state.c.source, harvest_state.c.key, harvest_state.c.value, harvest_state.c.updated_at
            ).order_by(harvest_state.c.source, harvest_state.c.key)
        ).all()
    return [(row.source, row.key, dict(row.value), row.updated_at) for row in rows]


def list_last_runs(engine: Engine) -> list[dict[str, Any]]:
    """The latest ledger row of each source, for `papertide ingest status`."""
    latest = select(ingest_runs.c.source, func.max(ingest_runs.c.id).label("id")).group_by(ingest_runs.c.source)
    with engine.connect() as conn:
        ids = [row.id for row in conn.execute(latest)]
        rows = conn.execute(select(ingest_runs).where(ingest_runs.c.id.in_(ids)).order_by(ingest_runs.c.source))
        return [dict(row._mapping) for row in rows]


def write_signals(conn: Connection, signals: Iterable[Signal], now: dt.datetime) -> int:
    """Store signals of papers already stored; returns how many were written.

    A later fetch of the same (paper, source, date) replaces its counts: the listing's
    upvotes keep growing after the day. Signals of papers not stored are left out (their
    record was invalid and reported as skipped).
    """
    wanted = list(signals)
    if not wanted:
        return 0
    ids: dict[str, int] = {}
    arxiv_ids = sorted({signal.arxiv_id for signal in wanted})
    for start in range(0, len(arxiv_ids), 500):
        rows = conn.execute(
            select(papers.c.arxiv_id, papers.c.id).where(papers.c.arxiv_id.in_(arxiv_ids[start : start + 500]))
        )
        ids.update({row.arxiv_id: row.id for row in rows})
    latest: dict[tuple[int, str, dt.date], dict[str, Any]] = {}
    for signal in wanted:
        paper_id = ids.get(signal.arxiv_id)
        if paper_id is None:
            continue
        latest[(paper_id, signal.source, signal.listed_on)] = {
            "paper_id": paper_id,
            "source": signal.source,
            "listed_on": signal.listed_on,
            "upvotes": signal.upvotes,
            "comments": signal.comments,
            "fetched_at": now,
            "submitted_by": signal.submitted_by,
            "thumbnail_url": signal.thumbnail_url,
            "github_stars": signal.github_stars,
            "project_page": signal.project_page,
        }
    if latest:
        _upsert(conn, paper_signals, list(latest.values()), ("paper_id", "source", "listed_on"))
    return len(latest)
