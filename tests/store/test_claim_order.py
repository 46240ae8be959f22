"""A claim reads the oldest queued rows from an index, not every row already sent (issue 13).

Delivery claims 200 rows at a time, oldest first. Without an index on the queued rows in id order
(``ix_digest_outbox_in_flight``, migration 0014; ``ix_digest_outbox_claim`` (state, id) before it)
both databases found them by walking the rows in id order past every row already sent: 70 ms
(SQLite) to 130 ms (PostgreSQL) per claim once 80,000 were sent, quadratic over a run. The plan
each database chooses is read back with EXPLAIN.
"""

from __future__ import annotations

import json

from sqlalchemy import Engine, insert, inspect, text, update

from papertide.store.deliveries import claim_batch, select_due
from papertide.store.engine import begin_write
from papertide.store.schema import digest_outbox, subscribers
from papertide.store.selections import write_selections
from tests.digest.digest_data import NOW

ROWS = 3000
SENT = 1500  # queued rows far beyond a claim: reading them all (then sorting) is no better than walking the sent


def fill_queue(engine: Engine) -> None:
    """ROWS delivery rows, the first SENT of them sent, the rest queued."""
    with begin_write(engine) as conn:
        conn.execute(
            insert(subscribers),
            [
                {
                    "email": f"reader{i}@example.org",
                    "status": "confirmed",
                    "frequency": "daily",
                    "hour": 7,
                    "timezone": "UTC",
                    "size": 10,
                    "topics": "{}",
                    "created_at": NOW,
                    "bounce_count": 0,
                }
                for i in range(ROWS)
            ],
        )
        ids = [row.id for row in conn.execute(text("SELECT id FROM subscribers ORDER BY id"))]
        (selection_id,) = write_selections(conn, [()], NOW)  # every row's papers: none are read here
        conn.execute(
            insert(digest_outbox),
            [
                {
                    "subscriber_id": subscriber_id,
                    "period_key": "day:2026-08-21",
                    "state": "queued",
                    "message_id": f"<m{subscriber_id}@example.org>",
                    "due_at": NOW,
                    "attempts": 0,
                    "created_at": NOW,
                    "selection_id": selection_id,
                }
                for subscriber_id in ids
            ],
        )
        first = conn.execute(text("SELECT min(id) FROM digest_outbox")).scalar_one()
        conn.execute(update(digest_outbox).where(digest_outbox.c.id < first + SENT).values(state="sent"))


def rows_read(engine: Engine) -> int:
    """How many rows the database looked at to find the next claim's rows."""
    statement = select_due(NOW, 200)
    with engine.connect() as conn:
        compiled = statement.compile(dialect=engine.dialect)
        if engine.dialect.name == "sqlite":
            plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + str(compiled), tuple(compiled.params.values())).all()
            # SQLite does not count rows: a search of the index reads only queued ones, a scan reads all.
            details = " ".join(str(row[-1]) for row in plan)
            return 200 if "USING INDEX ix_digest_outbox_in_flight" in details else ROWS
        conn.execute(text("ANALYZE digest_outbox"))
        explained = conn.exec_driver_sql("EXPLAIN (ANALYZE, FORMAT JSON) " + str(compiled), compiled.params)
        document = explained.scalar_one()
        plan = (json.loads(document) if isinstance(document, str) else document)[0]["Plan"]

    def read(node: dict[str, object]) -> int:
        """Rows the scans of this plan returned or dropped by their filter."""
        children = node.get("Plans", [])
        assert isinstance(children, list)
        own = 0.0
        if "Scan" in str(node["Node Type"]):
            own = float(str(node["Actual Rows"])) + float(str(node.get("Rows Removed by Filter", 0)))
        return int(own) + sum(read(child) for child in children)

    return read(plan)


def test_a_claim_reads_the_queued_rows_and_not_every_row_already_sent(engine: Engine) -> None:
    fill_queue(engine)
    assert rows_read(engine) <= 400
    with begin_write(engine) as conn:
        claimed = claim_batch(conn, "worker-a", NOW, 200)
    with engine.connect() as conn:
        first_queued = conn.execute(text("SELECT min(id) FROM digest_outbox WHERE state != 'sent'")).scalar_one()
    assert [digest.id for digest in claimed] == list(range(first_queued, first_queued + 200))


def test_no_index_of_the_delivery_queue_starts_with_the_state_and_the_claim_index_holds_rows_in_flight(
    engine: Engine,
) -> None:
    # Every claim and every send changes a row's state, rewriting its entry in each index that starts
    # with it (migration 0011 dropped the one no query used); the claim index is on the id, and only
    # rows queued or being sent are in it (migration 0014), so a send leaves it without writing in it.
    indexes = {str(index["name"]): index for index in inspect(engine).get_indexes(digest_outbox.name)}
    assert [name for name, index in indexes.items() if index["column_names"][:1] == ["state"]] == []
    in_flight = indexes["ix_digest_outbox_in_flight"]
    assert in_flight["column_names"] == ["id"]
    where = str(in_flight["dialect_options"][f"{engine.dialect.name}_where"])
    assert all(state in where for state in ("queued", "sending")) and "sent'" not in where
    fill_queue(engine)
    with begin_write(engine) as conn:
        assert len(claim_batch(conn, "worker-a", NOW, 200)) == 200
