"""Migration 0010 makes each delivery row's items a selection of its own; the downgrade gives them back (issue 13)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, Engine, MetaData, Table, insert, inspect, select

from papertide.store.engine import begin_write
from papertide.store.migrate import current_revision, downgrade_database, head_revision, upgrade_database
from papertide.store.schema import digest_outbox, digest_selection_items, digest_selections, papers, subscribers
from papertide.store.selections import (
    PlannedItem,
    PoolSelections,
    list_delivery_selections,
    list_selection_items,
    list_sent_papers,
    write_selections,
)

NOW = dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.UTC)
BEFORE = "0009_outbox_claim_index"
STATES = ("queued", "sending", "sent", "failed", "cancelled")


def _paper(number: int) -> dict[str, object]:
    return {
        "arxiv_id": f"2611.0{number:04d}",
        "version": 1,
        "title": f"Paper {number}",
        "abstract": "a",
        "authors": [],
        "categories": ["cs.LG"],
        "published": dt.date(2026, 11, 20),
        "external_upvotes": 0,
        "community_upvotes": 0,
        "content_hash": "h" * 64,
        "seq": number,
        "created_at": NOW,
        "changed_at": NOW,
    }


def _old_tables(conn: Connection) -> tuple[Table, Table]:
    """digest_outbox and digest_items as revision 0009 has them (schema.py no longer describes them)."""
    old = MetaData()
    return (
        Table("digest_outbox", old, autoload_with=conn, resolve_fks=False),
        Table("digest_items", old, autoload_with=conn, resolve_fks=False),
    )


def _fill_old_schema(engine: Engine) -> dict[int, list[tuple[int, int, str]]]:
    """Two subscribers with a delivery row in every state; returns each row's items (paper, position, reason)."""
    expected: dict[int, list[tuple[int, int, str]]] = {}
    with begin_write(engine) as conn:
        outbox, items = _old_tables(conn)
        paper_ids = [
            conn.execute(insert(papers).returning(papers.c.id), _paper(number)).scalar_one() for number in range(1, 13)
        ]
        for number in (1, 2):
            subscriber = conn.execute(
                insert(subscribers).returning(subscribers.c.id),
                {"email": f"s{number}@example.org", "status": "confirmed", "topics": {}, "created_at": NOW},
            ).scalar_one()
            for day, state in enumerate(STATES, start=1):
                row = conn.execute(
                    insert(outbox).returning(outbox.c.id),
                    {
                        "subscriber_id": subscriber,
                        "period_key": f"day:2026-11-{day:02d}",
                        "state": state,
                        "message_id": f"<{number}.{day}@x>",
                        "due_at": NOW,
                        "attempts": 1,
                        "claimed_by": "worker" if state == "sending" else None,
                        "created_at": NOW,
                    },
                ).scalar_one()
                # Two papers per digest, in reverse order of position; the last row holds none.
                chosen = [] if state == "cancelled" and number == 2 else paper_ids[2 * day - 2 : 2 * day]
                rows = [
                    (paper_id, 2 - i, f"matches your topic 'topic {number}.{day}'") for i, paper_id in enumerate(chosen)
                ]
                if rows:
                    conn.execute(
                        insert(items),
                        [
                            {"subscriber_id": subscriber, "paper_id": p, "outbox_id": row, "position": pos, "reason": r}
                            for p, pos, r in rows
                        ],
                    )
                expected[int(row)] = sorted(rows, key=lambda item: item[1])
    return expected


def test_upgrading_gives_every_delivery_row_a_selection_holding_its_items_and_drops_digest_items(
    engine: Engine,
) -> None:
    downgrade_database(engine, BEFORE)
    expected = _fill_old_schema(engine)
    upgrade_database(engine)
    assert current_revision(engine) == head_revision()
    assert "digest_items" not in inspect(engine).get_table_names()
    with engine.connect() as conn:
        chosen = list_delivery_selections(conn, sorted(expected))
        assert set(chosen) == set(expected) and len(set(chosen.values())) == len(expected)
        items = list_selection_items(conn, sorted(chosen.values()))
        found = {
            row: [(item.paper_id, item.position, item.reason) for item in items.get(chosen[row], [])]
            for row in expected
        }
        assert found == expected
        states = dict(conn.execute(select(digest_outbox.c.id, digest_outbox.c.state)).all())
        assert sorted(states.values()) == sorted(STATES * 2)
        # What planning reads: every row counts, whatever its state.
        pool = [int(i) for i in conn.execute(select(papers.c.id)).scalars()]
        sent = list_sent_papers(conn, PoolSelections(pool), first_subscriber=0, last_subscriber=10**6)
        assert sorted(len(papers_sent) for papers_sent in sent.values()) == [8, 10]
    with begin_write(engine) as conn:
        # The id sequence went past the copied ids: a new selection gets a fresh one.
        [new] = write_selections(conn, [[PlannedItem(pool[0], 0, "new")]], NOW)
        assert new > max(chosen.values())


def test_downgrading_writes_the_items_back_per_delivery_row_and_upgrading_again_keeps_them(engine: Engine) -> None:
    downgrade_database(engine, BEFORE)
    expected = _fill_old_schema(engine)
    upgrade_database(engine)
    downgrade_database(engine, BEFORE)
    assert {"digest_selections", "digest_selection_items"}.isdisjoint(inspect(engine).get_table_names())
    with engine.connect() as conn:
        outbox, items = _old_tables(conn)
        assert "selection_id" not in outbox.c
        assert conn.execute(select(outbox.c.id)).scalars().all() != []
        rows = conn.execute(select(items.c.outbox_id, items.c.paper_id, items.c.position, items.c.reason)).all()
    found: dict[int, list[tuple[int, int, str]]] = {row: [] for row in expected}
    for outbox_id, paper_id, position, reason in sorted(rows, key=lambda row: (row[0], row[2])):
        found[int(outbox_id)].append((int(paper_id), int(position), str(reason)))
    assert found == expected
    upgrade_database(engine)
    with engine.connect() as conn:
        assert conn.execute(select(digest_selections.c.id)).scalars().all() != []
        count = len(conn.execute(select(digest_selection_items.c.paper_id)).all())
    assert count == sum(len(items) for items in expected.values())
