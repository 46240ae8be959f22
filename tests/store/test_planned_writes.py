"""Planning's writes of a batch cost the same number of statements whatever its size (issue 13).

On PostgreSQL the driver's executemany is one statement per row for the server (bound, executed
and its constraint checks set up each time, pipelined or not): planning's delivery rows, its
selections and ``last_digest_at`` are written as arrays, one statement each per batch. What is
stored must not change: every row in the order planned (delivery claims in id order), a pair
another run planned first skipped, and only the created rows' subscribers get their slot.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event, select, text

from papertide.domain.clock import as_utc
from papertide.store.deliveries import PlannedDigest, PlannedSelection, prepare_planned, write_planned
from papertide.store.engine import begin_write
from papertide.store.schema import digest_outbox, digest_selections, subscribers
from papertide.store.selections import PlannedItem, list_selection_items
from papertide.store.subscribers import bind_last_digest, write_last_digest
from tests.digest.digest_data import NOW, add_subscriber, make_paper, store_papers

PERIOD = "day:2026-08-21"


@contextmanager
def statements(engine: Engine) -> Iterator[list[tuple[str, bool]]]:
    """Every statement SQLAlchemy hands the driver meanwhile, with whether it went as an executemany."""
    seen: list[tuple[str, bool]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        seen.append((statement, executemany))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def plan_batch(engine: Engine, count: int, first: int, paper_ids: list[int]) -> list[PlannedDigest]:
    """``count`` digests for new subscribers, sharing two selections alternately."""
    selections = [
        PlannedSelection(tuple(PlannedItem(paper_id, i, f"why {n}") for i, paper_id in enumerate(paper_ids[n:])))
        for n in range(2)
    ]
    readers = [add_subscriber(engine, f"reader{first + n}@example.org") for n in range(count)]
    return [
        PlannedDigest(
            subscriber_id=reader.id,
            period_key=PERIOD,
            message_id=f"<m{reader.id}@example.org>",
            due_at=NOW + dt.timedelta(minutes=n),
            selection=selections[n % 2],
        )
        for n, reader in enumerate(readers)
    ]


def write_batch(engine: Engine, planned: list[PlannedDigest]) -> tuple[list[int], list[tuple[str, bool]]]:
    """Write a batch as planning does; returns the subscribers whose row it created and the statements sent."""
    rows = prepare_planned(engine.dialect, planned, NOW)
    slots = bind_last_digest(engine.dialect, [(digest.subscriber_id, digest.due_at) for digest in planned])
    with statements(engine) as seen, begin_write(engine) as conn:
        written = write_planned(conn, planned, NOW, rows)
        write_last_digest(conn, slots.only(written.created))
    for selection, selection_id in written.stored:
        selection.id = selection_id
    return written.created, seen


def test_a_planning_batch_of_thirty_digests_sends_postgresql_as_many_statements_as_one_of_three_and_none_per_row(
    engine: Engine,
) -> None:
    store_papers(engine, [make_paper(n) for n in range(1, 5)])
    with engine.connect() as conn:
        paper_ids = [int(i) for i in conn.execute(text("SELECT id FROM papers ORDER BY id")).scalars()]
    small = plan_batch(engine, 3, 0, paper_ids)
    large = plan_batch(engine, 30, 100, paper_ids)
    created_small, sent_small = write_batch(engine, small)
    created_large, sent_large = write_batch(engine, large)
    assert created_small == [d.subscriber_id for d in small] and created_large == [d.subscriber_id for d in large]
    if engine.dialect.name == "postgresql":
        assert [many for _, many in sent_small + sent_large if many] == [], "an executemany is a statement per row"
        assert len(sent_large) == len(sent_small), (sent_small, sent_large)
    with engine.connect() as conn:
        stored = conn.execute(
            select(digest_outbox.c.subscriber_id, digest_outbox.c.message_id, digest_outbox.c.due_at)
            .where(digest_outbox.c.period_key == PERIOD)
            .order_by(digest_outbox.c.id)
        ).all()
        items = list_selection_items(conn, sorted(conn.execute(select(digest_selections.c.id)).scalars()))
        slots = {
            row.id: row.last_digest_at for row in conn.execute(select(subscribers.c.id, subscribers.c.last_digest_at))
        }
    planned = small + large
    assert [(row.subscriber_id, row.message_id) for row in stored] == [
        (d.subscriber_id, d.message_id) for d in planned
    ], "rows in the order planned: delivery claims them oldest first"
    assert [as_utc(row.due_at) for row in stored] == [d.due_at for d in planned]
    distinct = {id(d.selection): d.selection for d in planned}.values()
    assert sorted(items.values()) == sorted(list(s.items) for s in distinct), "each selection stored once"
    assert {d.selection.id for d in planned} == set(items)
    assert all(as_utc(slots[d.subscriber_id]) == d.due_at for d in planned)


def test_a_batch_whose_pair_another_run_planned_first_creates_only_the_others_rows_and_slots(engine: Engine) -> None:
    store_papers(engine, [make_paper(1)])
    with engine.connect() as conn:
        paper_ids = [int(i) for i in conn.execute(text("SELECT id FROM papers")).scalars()]
    planned = plan_batch(engine, 4, 0, paper_ids)
    earlier = planned[2]
    created, _ = write_batch(engine, [earlier])  # "another run" planned reader 2 first
    assert created == [earlier.subscriber_id]
    again = [
        PlannedDigest(
            d.subscriber_id, d.period_key, f"<again{d.subscriber_id}@example.org>", NOW, PlannedSelection(d.items)
        )
        for d in planned
    ]
    created, _ = write_batch(engine, again)
    assert created == [d.subscriber_id for n, d in enumerate(planned) if n != 2]
    with engine.connect() as conn:
        messages = {
            row.subscriber_id: row.message_id
            for row in conn.execute(select(digest_outbox.c.subscriber_id, digest_outbox.c.message_id))
        }
        slots = {
            row.id: row.last_digest_at for row in conn.execute(select(subscribers.c.id, subscribers.c.last_digest_at))
        }
    assert messages[earlier.subscriber_id] == earlier.message_id, "the first run's row is kept"
    assert as_utc(slots[earlier.subscriber_id]) == earlier.due_at
    assert [as_utc(slots[d.subscriber_id]) for n, d in enumerate(planned) if n != 2] == [NOW] * 3
