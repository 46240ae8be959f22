"""Digest selections: each distinct digest content of a planning run stored once (issue 13).

Planning computes one selection per distinct (topics, size, first new date, papers already
sent) and most subscribers share one; so the papers and "why" lines of a selection are stored
once (``digest_selections``, ``digest_selection_items``) and each delivery row points at its
selection, instead of one item row per subscriber and paper (1.4 million rows for 100,000
subscribers).

"Never the same paper twice to one subscriber" is planning's to keep (docs/digest.md, "What
goes in it"): it reads here which papers of its pool each subscriber's earlier digests held.

A selection's "why" lines quote the topics its readers follow, so it must not outlive the last
delivery row that refers to it: whatever deletes delivery rows (erasing a subscriber) deletes
the selections left unused (``delete_unused_selections``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Sequence
from typing import NamedTuple

from sqlalchemy import Connection, bindparam, exists, func, insert, select

from papertide.store.any_of import any_of
from papertide.store.schema import digest_outbox, digest_selection_items, digest_selections

# Bound parameters per statement stay well under SQLite's limit of 32,766.
_CHUNK = 5000
# Statements take their id lists through any_of (store/any_of.py): one text per statement on PostgreSQL.
_ITEMS = digest_selection_items.c


class PlannedItem(NamedTuple):
    """One paper of a planned digest.

    A named tuple, not a frozen dataclass: planning builds ~15 per distinct selection and each
    delivery process one per item it reads, and a frozen dataclass's ``__init__`` sets every field
    through ``object.__setattr__`` (three times slower to build, issue 13).
    """

    paper_id: int
    position: int
    reason: str


def write_selections(conn: Connection, selections: Sequence[Sequence[PlannedItem]], now: dt.datetime) -> list[int]:
    """Store each selection with its items; returns their new ids, in the order given."""
    if not selections:
        return []
    ids = _insert_selections(conn, len(selections), now)
    rows = [
        (selection_id, item.position, item.paper_id, item.reason)
        for selection_id, items in zip(ids, selections, strict=True)
        for item in items
    ]
    columns = "selection_id, position, paper_id, reason"
    if conn.dialect.name == "postgresql":
        # COPY: a third of executemany's time on PostgreSQL for a batch's ~7,000 items (issue 13).
        driver = conn.connection.driver_connection
        assert driver is not None
        with (
            driver.cursor() as cursor,
            cursor.copy(f"COPY {digest_selection_items.name} ({columns}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
        return ids
    # Straight to the driver's executemany: SQLAlchemy's per-row parameter processing costs more than the insert.
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = f"INSERT INTO {digest_selection_items.name} ({columns}) VALUES ({', '.join([mark] * 4)})"
    for start in range(0, len(rows), _CHUNK):
        conn.exec_driver_sql(sql, rows[start : start + _CHUNK])
    return ids


def list_existing_selections(conn: Connection, selection_ids: Collection[int]) -> set[int]:
    """Which of these selections are still stored (on PostgreSQL, kept so until the transaction ends).

    ``FOR KEY SHARE`` on PostgreSQL holds off a concurrent erasure's delete of a selection that
    this transaction is about to point new delivery rows at.
    """
    ids = sorted(selection_ids)
    found: set[int] = set()
    for start in range(0, len(ids), _CHUNK):
        statement = select(digest_selections.c.id).where(
            any_of(conn, digest_selections.c.id, ids[start : start + _CHUNK])
        )
        if conn.dialect.name == "postgresql":
            statement = statement.with_for_update(key_share=True)
        found.update(int(selection_id) for selection_id in conn.execute(statement).scalars())
    return found


def _insert_selections(conn: Connection, count: int, now: dt.datetime) -> list[int]:
    """Store ``count`` new selections (their items not yet); returns their ids, ascending.

    The order of RETURNING is not the rows' order, and SQLAlchemy's ordered RETURNING inserts
    one row per statement on SQLite (a run writes thousands of selections): any new id will do
    for any selection, so the ids are taken as a set. PostgreSQL hands them out from the column's
    sequence in one statement (an executemany was one INSERT per selection for the server, issue
    13); on SQLite the caller holds the write lock (``begin_write``), so the ids after the largest
    are free.
    """
    if conn.dialect.name == "postgresql":
        sequence = func.pg_get_serial_sequence(digest_selections.name, digest_selections.c.id.name)
        rows = select(func.nextval(sequence), bindparam("now", now, type_=digest_selections.c.created_at.type))
        taken = insert(digest_selections).from_select(
            ["id", "created_at"], rows.select_from(func.generate_series(1, count))
        )
        return sorted(int(value) for value in conn.execute(taken.returning(digest_selections.c.id)).scalars())
    first = int(conn.execute(select(func.coalesce(func.max(digest_selections.c.id), 0))).scalar_one()) + 1
    ids = list(range(first, first + count))
    conn.execute(insert(digest_selections), [{"id": selection_id, "created_at": now} for selection_id in ids])
    return ids


class PoolSelections:
    """Which papers of a run's candidate pool each stored selection holds, read once per selection per run.

    ``oldest`` is the smallest id of a selection holding any pool paper: selection ids grow with
    time, so the delivery rows of older selections (a subscriber's history beyond the pool) are
    never read. A selection's items do not change once written (a deleted paper only leaves it).
    """

    def __init__(self, paper_ids: Iterable[int]) -> None:
        self.paper_ids = frozenset(paper_ids)
        self.papers: dict[int, frozenset[int]] = {}
        self._oldest: int | None = None
        self._looked = False

    def oldest(self, conn: Connection) -> int | None:
        """The oldest selection holding a pool paper (None: no digest ever held one), looked up once."""
        if not self._looked:
            ids = sorted(self.paper_ids)
            found = [
                conn.execute(
                    select(func.min(_ITEMS.selection_id)).where(
                        any_of(conn, _ITEMS.paper_id, ids[start : start + _CHUNK])
                    )
                ).scalar()
                for start in range(0, len(ids), _CHUNK)
            ]
            self._oldest = min((int(value) for value in found if value is not None), default=None)
            self._looked = True
        return self._oldest

    def learn(self, conn: Connection, selection_ids: Collection[int]) -> None:
        """Read the pool papers of the selections not read yet."""
        unknown = sorted(set(selection_ids) - self.papers.keys())
        found: dict[int, set[int]] = {selection_id: set() for selection_id in unknown}
        for start in range(0, len(unknown), _CHUNK):
            rows = conn.execute(
                select(_ITEMS.selection_id, _ITEMS.paper_id).where(
                    any_of(conn, _ITEMS.selection_id, unknown[start : start + _CHUNK])
                )
            )
            for selection_id, paper_id in rows:
                if paper_id in self.paper_ids:
                    found[selection_id].add(paper_id)
        self.papers.update((selection_id, frozenset(papers)) for selection_id, papers in found.items())


# Read from the (subscriber_id, selection_id) index alone.
_SUBSCRIBER_SELECTIONS = select(digest_outbox.c.subscriber_id, digest_outbox.c.selection_id).where(
    digest_outbox.c.subscriber_id.between(bindparam("first"), bindparam("last")),
    digest_outbox.c.selection_id >= bindparam("oldest"),
)


def list_sent_papers(
    conn: Connection, pool: PoolSelections, *, first_subscriber: int, last_subscriber: int
) -> dict[int, set[int]]:
    """For subscribers with ids in [first, last], which pool papers each was already sent.

    Every delivery row counts, whatever its state: a digest planned, failed or cancelled once
    is not planned again with the same papers (as when items were stored per subscriber).
    """
    if not pool.paper_ids:
        return {}
    oldest = pool.oldest(conn)
    if oldest is None:
        return {}
    rows = conn.execute(
        _SUBSCRIBER_SELECTIONS, {"first": first_subscriber, "last": last_subscriber, "oldest": oldest}
    ).all()
    pool.learn(conn, {int(selection_id) for _, selection_id in rows})
    sent: dict[int, set[int]] = {}
    for subscriber_id, selection_id in rows:
        papers = pool.papers[int(selection_id)]
        if papers:
            sent.setdefault(int(subscriber_id), set()).update(papers)
    return sent


def list_delivery_selections(conn: Connection, delivery_ids: Sequence[int]) -> dict[int, int]:
    """The selection of each delivery row."""
    found: dict[int, int] = {}
    for start in range(0, len(delivery_ids), _CHUNK):
        rows = conn.execute(
            select(digest_outbox.c.id, digest_outbox.c.selection_id).where(
                any_of(conn, digest_outbox.c.id, delivery_ids[start : start + _CHUNK])
            )
        )
        found.update((int(delivery_id), int(selection_id)) for delivery_id, selection_id in rows)
    return found


def list_selection_items(conn: Connection, selection_ids: Sequence[int]) -> dict[int, list[PlannedItem]]:
    """The papers of each selection, in digest order (a selection whose papers are all gone is absent)."""
    found: dict[int, list[PlannedItem]] = {}
    items = digest_selection_items.c
    for start in range(0, len(selection_ids), _CHUNK):
        rows = conn.execute(
            select(items.selection_id, items.paper_id, items.position, items.reason)
            .where(any_of(conn, items.selection_id, selection_ids[start : start + _CHUNK]))
            .order_by(items.selection_id, items.position)
        )
        for selection_id, paper_id, position, reason in rows:
            found.setdefault(int(selection_id), []).append(PlannedItem(int(paper_id), int(position), str(reason)))
    return found


def list_subscriber_selection_ids(conn: Connection, subscriber_ids: Sequence[int]) -> set[int]:
    """The selections the delivery rows of these subscribers refer to."""
    found: set[int] = set()
    for start in range(0, len(subscriber_ids), _CHUNK):
        rows = conn.execute(
            select(digest_outbox.c.selection_id)
            .where(any_of(conn, digest_outbox.c.subscriber_id, subscriber_ids[start : start + _CHUNK]))
            .distinct()
        )
        found.update(int(selection_id) for selection_id in rows.scalars())
    return found


def delete_unused_selections(conn: Connection, selection_ids: Iterable[int]) -> int:
    """Delete those of these selections no delivery row refers to any more (their items cascade); returns how many.

    Called by whatever deletes delivery rows, in its transaction: a selection's reasons quote
    its readers' topics, which must go with the last of its readers.
    """
    ids = sorted(set(selection_ids))
    deleted = 0
    for start in range(0, len(ids), _CHUNK):
        if conn.dialect.name == "postgresql":
            # Wait for a planner that is pointing new rows at one of them (list_existing_selections):
            # the DELETE below then starts with a snapshot that sees its rows.
            chosen = digest_selections.c.id.in_(ids[start : start + _CHUNK])
            conn.execute(select(digest_selections.c.id).where(chosen).with_for_update())
        result = conn.execute(
            digest_selections.delete().where(
                digest_selections.c.id.in_(ids[start : start + _CHUNK]),
                ~exists().where(digest_outbox.c.selection_id == digest_selections.c.id),
            )
        )
        deleted += int(result.rowcount)
    return deleted
