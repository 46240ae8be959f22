"""Planning's writes (issue 13): on PostgreSQL a batch is written while the next one is read and chosen; on
SQLite each batch is written before the next is read; on both, a failed write stops planning there."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

import papertide.digest.plan as plan
from papertide.digest.compose import MailComposer
from papertide.digest.plan import run_planning
from papertide.digest.policy import DigestPolicy
from papertide.store.schema import digest_outbox
from tests.digest.digest_data import NOW, add_subscriber, make_paper, store_papers

# Two subscribers per batch: three batches for five subscribers.
SMALL_BATCHES = DigestPolicy(plan_batch=2)


def prepare(engine: Engine) -> None:
    store_papers(engine, [make_paper(i, upvotes=i) for i in range(1, 6)])
    for number in range(5):
        add_subscriber(engine, f"reader{number}@example.org")


def test_a_batch_is_written_while_the_next_is_read_on_postgresql_and_before_it_on_sqlite(
    engine: Engine, composer: MailComposer, monkeypatch: pytest.MonkeyPatch
) -> None:
    prepare(engine)
    overlapping = engine.dialect.name == "postgresql"
    events: list[str] = []
    next_read = threading.Event()
    write, read = plan.write_planned, plan.list_planned

    def writing(conn: Any, planned: Any, *arguments: Any) -> Any:
        if overlapping and not events.count("write start"):
            events.append("write start")
            # A barrier, not a clock: the first write waits for the second batch's read, which only a
            # write running beside planning lets happen (the timeout only ends a failing run).
            next_read.wait(timeout=30)
        else:
            events.append("write start")
        written = write(conn, planned, *arguments)
        events.append("write end")
        return written

    def reading(conn: Any, *arguments: Any) -> Any:
        events.append("read")
        if events.count("read") == 2:
            next_read.set()
        return read(conn, *arguments)

    monkeypatch.setattr(plan, "write_planned", writing)
    monkeypatch.setattr(plan, "list_planned", reading)
    report = run_planning(engine, now=NOW, policy=SMALL_BATCHES, message_id=composer.site.make_message_id)

    assert report.planned == 5
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(digest_outbox)).scalar_one() == 5
    if overlapping:
        assert events[:4] == ["read", "write start", "read", "write end"]
    else:
        assert events[:4] == ["read", "write start", "write end", "read"]
    assert events.count("write end") == 3


def test_a_failed_write_stops_planning_and_no_later_batch_is_written(
    engine: Engine, composer: MailComposer, monkeypatch: pytest.MonkeyPatch
) -> None:
    prepare(engine)
    write = plan.write_planned
    calls: list[int] = []

    def failing_second(conn: Any, planned: Any, *arguments: Any) -> Any:
        calls.append(len(planned))
        if len(calls) == 2:
            raise RuntimeError("the database went away")
        return write(conn, planned, *arguments)

    monkeypatch.setattr(plan, "write_planned", failing_second)
    with pytest.raises(RuntimeError, match="went away"):
        run_planning(engine, now=NOW, policy=SMALL_BATCHES, message_id=composer.site.make_message_id)
    assert calls == [2, 2]
    with engine.connect() as conn:
        # The first batch committed; the second rolled back; the third was never written.
        assert conn.execute(select(func.count()).select_from(digest_outbox)).scalar_one() == 2
