"""An ingest run writes on one held connection and catches up author rows in large steps (issue 13)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, event, func, select

from papertide.domain.errors import PapertideError
from papertide.domain.models import Paper
from papertide.ingest import pipeline
from papertide.ingest.pipeline import run_ingest
from papertide.ingest.source import Item
from papertide.store.engine import begin_write
from papertide.store.papers import upsert_papers
from papertide.store.run_writer import RUN_CACHE_KIB, RUN_WAL_AUTOCHECKPOINT_PAGES, run_writer
from papertide.store.schema import paper_authors, papers

NOW = dt.datetime(2026, 12, 1, 6, 0, tzinfo=dt.UTC)


def paper(number: int) -> Paper:
    return Paper(
        arxiv_id=f"2501.{number:05d}",
        title=f"Paper {number}",
        abstract="An abstract.",
        authors=(f"Ada Lovelace{number}", "Alan Turing"),
    )


def pragma(conn: Connection, name: str) -> int:
    driver = conn.connection.driver_connection
    assert driver is not None
    return int(driver.execute(f"PRAGMA {name}").fetchone()[0])


def lag(engine: Engine) -> int:
    """Papers stored without their author rows yet."""
    with engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(papers)).scalar_one()
        with_rows = conn.execute(select(func.count(func.distinct(paper_authors.c.paper_id)))).scalar_one()
    return int(stored) - int(with_rows)


def test_a_runs_batches_go_through_one_connection_with_the_larger_cache(engine: Engine) -> None:
    # Three idle pooled connections: through the pool (FIFO) the batches would take each in turn.
    held = [engine.connect() for _ in range(3)]
    for conn in held:
        conn.exec_driver_sql("SELECT 1")
        conn.close()
    seen: list[tuple[int, int | None]] = []

    def on_insert(conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO PAPERS"):
            driver = conn.connection.driver_connection
            cache = driver.execute("PRAGMA cache_size").fetchone()[0] if engine.dialect.name == "sqlite" else None
            seen.append((id(driver), cache))

    event.listen(engine, "before_cursor_execute", on_insert)
    try:
        report = run_ingest(engine, "jsonl", [paper(n) for n in range(1, 5)], batch_size=1)
    finally:
        event.remove(engine, "before_cursor_execute", on_insert)
    assert report.new == 4 and len(seen) == 4
    assert len({connection for connection, _ in seen}) == 1
    if engine.dialect.name == "sqlite":
        assert {cache for _, cache in seen} == {-RUN_CACHE_KIB}
        # Every pooled connection is back to SQLite's own settings after the run.
        again = [engine.connect() for _ in range(4)]
        try:
            for conn in again:
                assert pragma(conn, "cache_size") == -2000
                assert pragma(conn, "wal_autocheckpoint") == 1000
        finally:
            for conn in again:
                conn.close()


def test_the_held_connection_is_set_back_when_the_run_fails(sqlite_engine: Engine) -> None:
    with pytest.raises(RuntimeError), run_writer(sqlite_engine) as writer, writer.begin() as conn:
        assert pragma(conn, "wal_autocheckpoint") == RUN_WAL_AUTOCHECKPOINT_PAGES
        raise RuntimeError("the source broke")
    with sqlite_engine.connect() as conn:
        assert pragma(conn, "cache_size") == -2000
        assert not conn.info.get("write")


def test_author_rows_are_caught_up_every_so_many_papers_and_at_the_end(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline, "AUTHORSHIP_EVERY", 3)
    lags: list[int] = []
    report = run_ingest(
        engine, "jsonl", [paper(n) for n in range(1, 8)], batch_size=1, on_changed=lambda _ids: lags.append(lag(engine))
    )
    assert report.new == 7
    assert lags == [1, 2, 0, 1, 2, 0, 1]
    assert lag(engine) == 0


def test_a_failed_run_still_catches_up_the_batches_it_stored(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline, "AUTHORSHIP_EVERY", 100)

    def broken() -> Iterator[Item]:
        yield paper(1)
        yield paper(2)
        raise PapertideError("feed.xml: the body ends in the middle of a record")

    report = run_ingest(engine, "oai", broken(), batch_size=1)
    assert report.new == 2 and report.failure and "ends in the middle" in report.failure
    assert lag(engine) == 0


def test_a_run_that_changes_nothing_catches_up_what_an_earlier_run_left(engine: Engine) -> None:
    # An earlier run killed between a batch's commit and its catch-up left papers without author rows.
    with begin_write(engine) as conn:
        upsert_papers(conn, [paper(1), paper(2)], NOW)
    assert lag(engine) == 2
    report = run_ingest(engine, "jsonl", [paper(1), paper(2)])
    assert report.unchanged == 2 and report.new == report.updated == 0
    assert lag(engine) == 0
