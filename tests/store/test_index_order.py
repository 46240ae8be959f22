"""Claims and subscriber pages walk their index in order whatever PostgreSQL's statistics say (issue 13).

The delivery queue fills with a day's digests within the minute before delivery claims them, and a
list of subscribers loaded in bulk is not analysed yet: from statistics that said a few dozen rows
matched, PostgreSQL read every queued row (every confirmed subscriber) and sorted them all for each
claim of 200 (page of 500), and from statistics taken mid-run it walked the primary key through
every row already sent. Quadratic either way: 5.8 s and 5.4 s of the server's time at 100,000
subscribers. The plans are the ones PostgreSQL ran, sent back by its own ``auto_explain``.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, event, text, update

from papertide.digest.plan import SubscriberPages
from papertide.digest.policy import DigestPolicy
from papertide.store.deliveries import claim_batch
from papertide.store.engine import begin_write, make_engine, single_statement_reads
from papertide.store.index_order import keep_index_order
from papertide.store.schema import subscribers
from papertide.store.selections import write_selections
from papertide.store.subscribers import list_subscribers
from tests.digest.digest_data import NOW
from tests.store.test_claim_order import ROWS, fill_queue

Plan = dict[str, Any]


@contextlib.contextmanager
def executed_plans(url: str) -> Iterator[tuple[Engine, list[Plan]]]:
    """An engine whose every statement's plan, as run, is appended to the list (with actual row counts)."""
    plans: list[Plan] = []

    def on_notice(diagnostic: Any) -> None:
        message = str(diagnostic.message_primary or "")
        if "plan:" in message:
            plans.append(json.loads(message.split("plan:", 1)[1]))

    def explain_everything(dbapi_connection: Any, _record: Any) -> None:
        with dbapi_connection.cursor() as cursor:
            cursor.execute("LOAD 'auto_explain'")
            for setting in ("log_min_duration = 0", "log_analyze = on", "log_format = json"):
                cursor.execute(f"SET auto_explain.{setting}")
            cursor.execute("SET client_min_messages = log")  # auto_explain's LOG lines come back as notices
        dbapi_connection.commit()
        dbapi_connection.add_notice_handler(on_notice)

    engine = make_engine(url)
    event.listen(engine, "connect", explain_everything)
    try:
        yield engine, plans
    finally:
        engine.dispose()


def nodes(plan: Plan) -> Iterator[Plan]:
    """Every node of a plan, depth first."""
    yield plan
    for child in plan.get("Plans", []):
        yield from nodes(child)


def the_plan(plans: list[Plan], starts: str) -> Plan:
    """The plan of the one statement run whose text starts with ``starts``."""
    found: list[Plan] = [p["Plan"] for p in plans if str(p["Query Text"]).lstrip().startswith(starts)]
    assert len(found) == 1, [str(p["Query Text"])[:60] for p in plans]
    return found[0]


def rows_visited(plan: Plan) -> int:
    """Rows the plan's scans returned or dropped by their filter."""
    return sum(
        int(node["Actual Rows"]) + int(node.get("Rows Removed by Filter", 0))
        for node in nodes(plan)
        if "Scan" in str(node["Node Type"]) and node["Node Type"] != "CTE Scan"
    )


# PostgreSQL only: SQLite plans these without statistics (tests/store/test_claim_order.py reads its plan).
postgresql_only = pytest.mark.parametrize("dialect", ["postgres"])


def analyse_without_autovacuum(engine: Engine, table: str) -> None:
    """Statistics taken now, and kept (autovacuum would take new ones when it likes)."""
    with engine.connect() as conn:
        conn.execute(text(f"ALTER TABLE {table} SET (autovacuum_enabled = off)"))
        conn.execute(text(f"ANALYZE {table}"))
        conn.commit()


HISTORY = 10_000  # rows sent on earlier days
ROUNDS, PLANNED, SENT_PER_ROUND = 10, 1000, 500  # today: planning queues a batch, delivery sends half as many


def fill_mid_run(engine: Engine) -> None:
    """The queue halfway through a run: the earlier days' rows sent, today's planned and sent in turns."""
    total = HISTORY + ROUNDS * PLANNED
    row = "'day:{day}', '{state}', '<m' || g || '.{day}@example.org>', now(), 0, now(), {selection}"
    columns = "subscriber_id, period_key, state, message_id, due_at, attempts, created_at, selection_id"
    with begin_write(engine) as conn:
        conn.execute(
            text(
                "INSERT INTO subscribers (email, status, frequency, hour, timezone, size, topics, created_at,"
                " bounce_count) SELECT 'r' || g || '@example.org', 'confirmed', 'daily', 7, 'UTC', 10, '{}',"
                f" now(), 0 FROM generate_series(1, {total}) g"
            )
        )
        (selection,) = write_selections(conn, [()], NOW)
        values = row.format(day=1, state="sent", selection=selection)
        conn.execute(
            text(f"INSERT INTO digest_outbox ({columns}) SELECT g, {values} FROM generate_series(1, {HISTORY}) g")
        )
    for number in range(ROUNDS):
        first = HISTORY + number * PLANNED + 1
        values = row.format(day=2, state="queued", selection=selection)
        with begin_write(engine) as conn:
            conn.execute(
                text(
                    f"INSERT INTO digest_outbox ({columns}) SELECT g, {values}"
                    f" FROM generate_series({first}, {first + PLANNED - 1}) g"
                )
            )
            conn.execute(
                text(
                    "UPDATE digest_outbox SET state = 'sent' WHERE id IN (SELECT id FROM digest_outbox"
                    f" WHERE state = 'queued' ORDER BY id LIMIT {SENT_PER_ROUND})"
                )
            )


@postgresql_only
def test_a_claim_reads_the_oldest_rows_in_flight_and_not_the_rows_sent_before_them(engine: Engine) -> None:
    # Fresh statistics say a quarter of the rows are queued, as if spread evenly: the primary key in
    # id order looked as good as the claim index (state, id), and the claim walked 15,000 rows sent.
    fill_mid_run(engine)
    analyse_without_autovacuum(engine, "digest_outbox")
    url = engine.url.render_as_string(hide_password=False)
    with executed_plans(url) as (explained, plans), begin_write(explained) as conn:
        claimed = claim_batch(conn, "worker-a", NOW, 200)
    # The pick, which finds the rows (the update then reaches each picked row by its key).
    picked = next(n for n in nodes(the_plan(plans, "WITH picked")) if n.get("Subplan Name") == "CTE picked")
    assert [n["Node Type"] for n in nodes(picked) if n["Node Type"] in {"Sort", "Bitmap Heap Scan"}] == []
    assert [n.get("Index Name") for n in nodes(picked) if "Scan" in n["Node Type"]] == ["ix_digest_outbox_in_flight"]
    assert rows_visited(picked) == 200
    first_queued = HISTORY + ROUNDS * SENT_PER_ROUND + 1  # rows are numbered in the order they were planned
    assert [digest.id for digest in claimed] == list(range(first_queued, first_queued + 200))


@postgresql_only
def test_subscriber_pages_read_the_primary_key_in_order_whatever_the_statistics_say(engine: Engine) -> None:
    fill_queue(engine)  # ROWS confirmed subscribers
    with begin_write(engine) as conn:
        conn.execute(update(subscribers).values(status="pending"))
    analyse_without_autovacuum(engine, "subscribers")  # then everyone confirms: "confirmed" looks rare
    with begin_write(engine) as conn:
        conn.execute(update(subscribers).values(status="confirmed"))
    with executed_plans(engine.url.render_as_string(hide_password=False)) as (explained, plans):
        pages = SubscriberPages(explained, 100, NOW, DigestPolicy())
        pages.after_id = ROWS // 2  # the middle of the list: the rows before it are read no more
        batch = pages.next_batch()
    plan = the_plan(plans, "SELECT subscribers.id")
    assert [n["Node Type"] for n in nodes(plan) if n["Node Type"] in {"Sort", "Bitmap Heap Scan"}] == []
    assert rows_visited(plan) <= 100
    assert len(batch) == 100
    assert all(subscriber.status == "confirmed" for subscriber, _ in batch)


@postgresql_only
def test_the_guidance_refuses_a_connection_in_autocommit_where_it_would_do_nothing(engine: Engine) -> None:
    with single_statement_reads(engine).connect() as conn, pytest.raises(RuntimeError, match="autocommit"):
        list_subscribers(conn, statuses=["confirmed"])
    with engine.connect() as conn:
        keep_index_order(conn)
        assert conn.exec_driver_sql("SHOW enable_sort").scalar() == "off"
        conn.rollback()
        assert conn.exec_driver_sql("SHOW enable_sort").scalar() == "on"  # it ended with the transaction
