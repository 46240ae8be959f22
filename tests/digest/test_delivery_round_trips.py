"""The per-message statements of delivery on PostgreSQL (issue 13): one round trip per message.

Before each message a worker records the previous one as sent and reads whether it still holds
the next row (store/deliveries.py ``HeldCheck``). As BEGIN, UPDATE, SELECT and COMMIT that was
four round trips per message, more than the SMTP exchange itself; it is now one statement in
autocommit. What the client sends is read from libpq's own protocol trace.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, select

from papertide.digest.plan import run_planning
from papertide.digest.policy import DigestPolicy
from papertide.store.deliveries import HeldCheck, claim_batch
from papertide.store.engine import begin_write
from papertide.store.schema import digest_outbox, subscribers
from papertide.store.subscribers import unsubscribe_subscriber
from tests.digest.digest_data import NOW, add_subscriber, make_paper, store_papers

WARM_UP = 3


def traced(conn: Connection, trace: Path) -> object:
    """Start libpq's protocol trace of ``conn``'s driver connection into ``trace``."""
    sink = trace.open("w")
    driver = conn.connection.driver_connection
    driver.pgconn.trace(sink.fileno())  # type: ignore[union-attr]
    return sink


def round_trips(trace: Path) -> tuple[int, list[str]]:
    """How many statements the client sent (a simple Query, or an extended-protocol Execute), and the Queries.

    psycopg prepares a statement it has run a few times, once per connection: that Parse and its
    own Sync, with no Execute, is not counted.
    """
    sent = [line.split("\t") for line in trace.read_text().splitlines()]
    from_client = [fields[3] for fields in sent if fields[1:2] == ["F"]]
    queries = [fields[4].strip().strip('"') for fields in sent if fields[1:2] == ["F"] and fields[3:4] == ["Query"]]
    return sum(kind in ("Query", "Execute") for kind in from_client), queries


@pytest.mark.parametrize("dialect", ["postgres"])
def test_recording_a_message_and_checking_the_next_takes_one_round_trip_without_begin_or_commit(
    engine: Engine, tmp_path: Path
) -> None:
    store_papers(engine, [make_paper(i, upvotes=i) for i in range(1, 4)])
    count = WARM_UP + 6
    for i in range(count):
        add_subscriber(engine, f"reader{i}@example.org")
    run_planning(engine, now=NOW, policy=DigestPolicy(), message_id=lambda period, sid: f"<{period}.{sid}@x>")
    with begin_write(engine) as conn:
        ids = [digest.id for digest in claim_batch(conn, "worker-a", NOW, count)]
    assert len(ids) == count
    with begin_write(engine) as conn:  # the last reader leaves after planning
        last = conn.execute(select(digest_outbox.c.subscriber_id).where(digest_outbox.c.id == ids[-1])).scalar_one()
        unsubscribe_subscriber(conn, last, NOW)

    with engine.connect() as conn:
        check = HeldCheck(conn)
        results = [check.run(sent=None, held=ids[0], worker="worker-a", now=NOW)]
        for previous, delivery in itertools.pairwise(ids[:WARM_UP]):
            results.append(check.run(sent=previous, held=delivery, worker="worker-a", now=NOW))
        trace = tmp_path / "libpq.trace"
        sink = traced(conn, trace)
        try:
            for previous, delivery in itertools.pairwise(ids[WARM_UP - 1 :]):
                results.append(check.run(sent=previous, held=delivery, worker="worker-a", now=NOW))
            # Sent already (a second copy), and a row this worker does not hold.
            results.append(check.run(sent=ids[0], held=ids[0], worker="worker-b", now=NOW))
        finally:
            sink.close()  # type: ignore[attr-defined]
        conn.connection.driver_connection.pgconn.untrace()  # type: ignore[union-attr]
        check.end_autocommit()  # as the worker does before anything else uses its connection
        assert conn.connection.driver_connection.autocommit is False  # type: ignore[union-attr]

    trips, queries = round_trips(trace)
    assert trips == count - WARM_UP + 1, queries
    assert not [query for query in queries if query.upper() in ("BEGIN", "COMMIT", "ROLLBACK")], queries
    assert results[0] == (False, "confirmed")
    assert results[1:-2] == [(True, "confirmed")] * (count - 2)
    assert results[-2] == (True, "unsubscribed")
    assert results[-1] == (False, None)
    with engine.connect() as conn:
        rows = conn.execute(select(digest_outbox.c.id, digest_outbox.c.state))
        states = {int(row.id): str(row.state) for row in rows}
        assert conn.execute(select(subscribers.c.status).where(subscribers.c.id == last)).scalar_one() == "unsubscribed"
    # Committed: another connection sees every message but the last recorded.
    assert [states[i] for i in ids] == ["sent"] * (count - 1) + ["sending"]
