"""An ingest run catches up author rows in large steps and always at its end (issue 11, 13)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, func, select

from papertide.domain.errors import PapertideError
from papertide.domain.models import Paper
from papertide.ingest import pipeline
from papertide.ingest.pipeline import run_ingest
from papertide.ingest.source import Item
from papertide.store.engine import begin_write
from papertide.store.papers import upsert_papers
from papertide.store.schema import paper_authors, papers

NOW = dt.datetime(2026, 12, 1, 6, 0, tzinfo=dt.UTC)


def paper(number: int) -> Paper:
    return Paper(
        arxiv_id=f"2501.{number:05d}",
        title=f"Paper {number}",
        abstract="An abstract.",
        authors=(f"Ada Lovelace{number}", "Alan Turing"),
    )


def lag(engine: Engine) -> int:
    """Papers stored without their author rows yet."""
    with engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(papers)).scalar_one()
        with_rows = conn.execute(select(func.count(func.distinct(paper_authors.c.paper_id)))).scalar_one()
    return int(stored) - int(with_rows)


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


def test_a_catch_up_writes_its_rows_in_the_order_of_the_author_index(sqlite_engine: Engine) -> None:
    # Names random to ix_paper_authors_author_key, written in its order: each leaf page is written
    # back once per transaction, not once per row (issue 13). SQLite numbers rows as they are written.
    names = ["Zoe Zed", "Ada Lovelace", "Mia Moe", "Bob Bee", "Kim Kay", "Al Ace"]
    records = [
        Paper(arxiv_id=f"2501.{n:05d}", title="T", abstract="A", authors=(names[n % 6], names[(n * 5) % 6]))
        for n in range(12)
    ]
    run_ingest(sqlite_engine, "jsonl", records)
    with sqlite_engine.connect() as conn:
        written = [
            tuple(row) for row in conn.exec_driver_sql("SELECT author_key, paper_id FROM paper_authors ORDER BY rowid")
        ]
    assert len(written) == 24 and written == sorted(written)
