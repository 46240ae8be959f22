"""The digest delivery queue: one row per (subscriber, period), the ledger that makes delivery exactly-once.

Rows live in the table ``digest_outbox`` (its name predates this module's); this is not the
folder of ``.eml`` files that mail/transport.py writes when no SMTP server is configured.

States::

    queued --claim--> sending --accepted, then recorded--> sent
       ^                 |  \\--> failed (permanent, or out of attempts)
       |                 |   \\-> cancelled (unsubscribed or bouncing before it went out)
       +----retry/release+

Planning inserts rows with ``ON CONFLICT DO NOTHING`` on the (subscriber, period) key, so two
runs planning at once create each digest once, with the Message-ID every attempt will use.
Claiming is one UPDATE over rows still ``queued`` (``FOR UPDATE SKIP LOCKED`` on PostgreSQL,
the write lock on SQLite), so no two workers hold a row. A worker sends a row only after
``read_held`` says it still holds it, and records it with ``write_sent`` only after the mail
server accepted the message; so a row is never ``sent`` unless its message went out, and a
worker that dies in between leaves it ``sending`` for the next run to send again
(docs/digest.md, "Delivery: never lose a digest").
"""

from __future__ import annotations

import contextlib
import datetime as dt
import operator
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, cast

from sqlalchemy import (
    ClauseElement,
    ColumnElement,
    Connection,
    Dialect,
    Select,
    Update,
    and_,
    bindparam,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.sql.compiler import SQLCompiler

from papertide.domain.clock import as_utc
from papertide.store.any_of import any_of
from papertide.store.engine import begin_immediate
from papertide.store.index_order import keep_index_order
from papertide.store.schema import OUTBOX_IN_FLIGHT, digest_outbox, papers, subscribers
from papertide.store.selections import (
    PlannedItem,
    delete_unused_selections,
    list_existing_selections,
    write_selections,
)

# Bound parameters per statement stay well under SQLite's limit of 32,766.
_CHUNK = 5000


@dataclass(eq=False, slots=True)
class PlannedSelection:
    """One distinct digest content of a planning run, shared by every digest planned with it.

    ``id`` is its row once stored and committed (the planner sets it after the commit, so a
    batch rolled back never leaves an id that points nowhere).
    """

    items: tuple[PlannedItem, ...]
    id: int | None = None


class PlannedDigest(NamedTuple):
    """A digest decided by the planner, before it is written.

    A named tuple, not a frozen dataclass: planning builds one per subscriber, and a frozen
    dataclass's ``__init__`` sets each field through ``object.__setattr__`` (issue 13, as PlannedItem).
    """

    subscriber_id: int
    period_key: str
    message_id: str
    due_at: dt.datetime
    selection: PlannedSelection

    @property
    def items(self) -> tuple[PlannedItem, ...]:
        """The papers of the digest, in order."""
        return self.selection.items


@dataclass(frozen=True, slots=True)
class WrittenPlan:
    """What ``write_planned`` stored: the subscribers whose row it created, and the selections it wrote."""

    created: list[int]
    stored: list[tuple[PlannedSelection, int]]


@dataclass(frozen=True, slots=True)
class CandidatePaper:
    """What a digest needs of a paper: enough to rank it and to show it."""

    id: int
    arxiv_id: str
    title: str
    abstract: str
    authors: tuple[str, ...]
    categories: tuple[str, ...]
    listed_on: dt.date
    upvotes: int


_CANDIDATE_COLUMNS = (
    papers.c.id,
    papers.c.arxiv_id,
    papers.c.title,
    papers.c.abstract,
    papers.c.authors,
    papers.c.categories,
    func.coalesce(papers.c.listed_on, papers.c.published).label("listing"),
    (papers.c.external_upvotes + papers.c.community_upvotes).label("upvotes"),
)


def _to_candidate(row: Any) -> CandidatePaper:
    listing = row.listing
    if isinstance(listing, str):  # SQLite returns coalesce() of two dates as text
        listing = dt.date.fromisoformat(listing)
    return CandidatePaper(
        id=int(row.id),
        arxiv_id=str(row.arxiv_id),
        title=str(row.title),
        abstract=str(row.abstract),
        authors=tuple(row.authors or ()),
        categories=tuple(row.categories or ()),
        listed_on=listing,
        upvotes=int(row.upvotes or 0),
    )


def list_candidate_papers(conn: Connection, *, since: dt.date, until: dt.date) -> list[CandidatePaper]:
    """Papers whose listing date (listed_on, else published) lies in [since, until]."""
    listing = func.coalesce(papers.c.listed_on, papers.c.published)
    rows = conn.execute(select(*_CANDIDATE_COLUMNS).where(listing >= since, listing <= until))
    return [_to_candidate(row) for row in rows]


def get_candidate_papers(conn: Connection, paper_ids: Sequence[int]) -> list[CandidatePaper]:
    """Papers by id in the candidate shape, whatever their date (for digests planned by another run)."""
    found: list[CandidatePaper] = []
    for start in range(0, len(paper_ids), _CHUNK):
        rows = conn.execute(select(*_CANDIDATE_COLUMNS).where(papers.c.id.in_(list(paper_ids[start : start + _CHUNK]))))
        found.extend(_to_candidate(row) for row in rows if row.listing is not None)
    return found


@dataclass(frozen=True, slots=True)
class ClaimedDigest:
    """A delivery a worker now holds and must send, retry, fail or release.

    ``selection_id`` is its digest's content (store/selections.py), returned by the claim itself
    so that delivery needs no second read of the rows it just claimed (issue 13).
    """

    id: int
    subscriber_id: int
    period_key: str
    message_id: str
    due_at: dt.datetime
    attempts: int
    selection_id: int


PlannedRows = list[tuple[Any, ...]]
"""A batch's delivery rows as the driver takes them, all but their selection id (``prepare_planned``)."""


def prepare_planned(dialect: Dialect, planned: Sequence[PlannedDigest], now: dt.datetime) -> PlannedRows:
    """The delivery rows of ``planned``, instants bound for the database, built before the write transaction.

    On SQLite planning's write transaction holds off every delivery process's record: what needs
    no database (formatting 500 instants, a tuple per row) is done before it begins (issue 13).
    """
    stamp = digest_outbox.c.created_at.type.dialect_impl(dialect).bind_processor(dialect)

    def when(value: dt.datetime) -> Any:
        return stamp(value) if stamp is not None else value

    created_at = when(now)
    return [
        (digest.subscriber_id, digest.period_key, "queued", digest.message_id, when(digest.due_at), 0, created_at)
        for digest in planned
    ]


def write_planned(
    conn: Connection, planned: Sequence[PlannedDigest], now: dt.datetime, rows: PlannedRows | None = None
) -> WrittenPlan:
    """Store planned digests, and each selection not stored yet once, whatever the number of its readers.

    A (subscriber, period) that already has a row (planned by an earlier or concurrent run) is
    skipped; a selection this call wrote that none of the created rows uses is deleted again.

    :param rows: ``prepare_planned(conn.dialect, planned, now)``, when the caller built them before the transaction.
    """
    if not planned:
        return WrittenPlan([], [])
    reused = {digest.selection.id for digest in planned if digest.selection.id is not None}
    # Erasing the only reader of a selection stored by an earlier batch deletes it: store it again.
    gone = reused - list_existing_selections(conn, reused)
    fresh = list(
        {
            id(digest.selection): digest.selection
            for digest in planned
            if digest.selection.id is None or digest.selection.id in gone
        }.values()
    )
    fresh_ids = dict(zip(map(id, fresh), write_selections(conn, [s.items for s in fresh], now), strict=True))
    selection_ids = {id(d.selection): fresh_ids.get(id(d.selection), d.selection.id) for d in planned}
    prepared = rows if rows is not None else prepare_planned(conn.dialect, planned, now)
    created = _insert_rows(conn, planned, prepared, selection_ids)
    made = set(created)
    used = {id(digest.selection) for digest in planned if digest.subscriber_id in made}
    unused = [selection_id for key, selection_id in fresh_ids.items() if key not in used]
    if unused:
        delete_unused_selections(conn, unused)
    stored = [(selection, fresh_ids[id(selection)]) for selection in fresh if id(selection) in used]
    return WrittenPlan(created, stored)


_ROW_COLUMNS = (
    "subscriber_id",
    "period_key",
    "state",
    "message_id",
    "due_at",
    "attempts",
    "created_at",
    "selection_id",
)


def _insert_rows(
    conn: Connection, planned: Sequence[PlannedDigest], prepared: PlannedRows, selection_ids: dict[int, int | None]
) -> list[int]:
    """Insert the delivery rows, skipping (subscriber, period) pairs that have one; returns whose row was created.

    Straight to the driver, without RETURNING (SQLAlchemy's per-row processing cost more than the
    insert, issue 13). Only a concurrent run can have planned one of these pairs since planning
    read them (``list_planned``): when the count of inserted rows falls short, or the driver does
    not tell it, the rows that point at this call's selections are this call's.
    """
    rows = [(*row, selection_ids[id(digest.selection)]) for row, digest in zip(prepared, planned, strict=True)]
    if conn.dialect.name == "postgresql":
        inserted = _insert_rows_unnest(conn, rows)
    else:
        mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        values = ", ".join([mark] * len(_ROW_COLUMNS))
        sql = (
            f"INSERT INTO {digest_outbox.name} ({', '.join(_ROW_COLUMNS)}) VALUES ({values}) "
            "ON CONFLICT (subscriber_id, period_key) DO NOTHING"
        )
        inserted = 0
        for start in range(0, len(rows), _CHUNK):
            inserted += conn.exec_driver_sql(sql, rows[start : start + _CHUNK]).rowcount
    if inserted == len(rows):
        return [digest.subscriber_id for digest in planned]
    ours = select(digest_outbox.c.subscriber_id).where(
        digest_outbox.c.subscriber_id.in_([digest.subscriber_id for digest in planned]),
        digest_outbox.c.period_key.in_(sorted({digest.period_key for digest in planned})),
        digest_outbox.c.selection_id.in_(sorted({i for i in selection_ids.values() if i is not None})),
    )
    return [int(subscriber_id) for subscriber_id in conn.execute(ours).scalars()]


# One statement per batch on PostgreSQL: the rows' columns as arrays, unnested in the order given
# (delivery claims rows in id order). An executemany, pipelined or not, is one INSERT per row for
# the server: bound, executed and its constraint checks set up 500 times a batch (issue 13).
_UNNEST_ROWS = (
    f"INSERT INTO {digest_outbox.name} ({', '.join(_ROW_COLUMNS)}) "
    f"SELECT {', '.join(_ROW_COLUMNS)} FROM unnest("
    "%s::integer[], %s::varchar[], %s::varchar[], %s::varchar[], %s::timestamptz[], %s::integer[], "
    "%s::timestamptz[], %s::integer[]) "
    f"WITH ORDINALITY AS planned({', '.join(_ROW_COLUMNS)}, number) ORDER BY number "
    "ON CONFLICT (subscriber_id, period_key) DO NOTHING"
)


def _insert_rows_unnest(conn: Connection, rows: Sequence[tuple[Any, ...]]) -> int:
    """Insert ``rows`` (values of ``_ROW_COLUMNS``) in one statement; returns how many were inserted."""
    columns = tuple(list(column) for column in zip(*rows, strict=True))
    return int(conn.exec_driver_sql(_UNNEST_ROWS, columns).rowcount)


def list_planned(conn: Connection, subscriber_ids: Sequence[int], period_keys: Iterable[str]) -> set[tuple[int, str]]:
    """Which of these (subscriber, period) pairs already have a delivery row."""
    keys = sorted(set(period_keys))
    if not subscriber_ids or not keys:
        return set()
    rows = conn.execute(
        select(digest_outbox.c.subscriber_id, digest_outbox.c.period_key).where(
            any_of(conn, digest_outbox.c.subscriber_id, subscriber_ids), digest_outbox.c.period_key.in_(keys)
        )
    )
    return {(int(row.subscriber_id), str(row.period_key)) for row in rows}


def list_claimers(conn: Connection) -> list[tuple[str, dt.datetime]]:
    """Who holds rows in ``sending`` and since when (oldest claim per worker)."""
    rows = conn.execute(
        select(digest_outbox.c.claimed_by, func.min(digest_outbox.c.claimed_at))
        .where(OUTBOX_IN_FLIGHT, digest_outbox.c.state == "sending")
        .group_by(digest_outbox.c.claimed_by)
    )
    return [(str(worker), as_utc(claimed_at)) for worker, claimed_at in rows if worker is not None]


def release_claims(conn: Connection, workers: Sequence[str]) -> int:
    """Put rows held by workers known to be gone back in the queue; returns how many.

    Safe even if a worker is in fact alive: ``read_held`` then tells it not to send them. Live
    workers refresh their claims every ``claim_refresh`` (``touch_claims``), so only one stuck for
    the whole claim timeout in the middle of a single message can be mistaken for a stopped one.
    """
    if not workers:
        return 0
    result = conn.execute(
        update(digest_outbox)
        .where(OUTBOX_IN_FLIGHT, digest_outbox.c.state == "sending", digest_outbox.c.claimed_by.in_(list(workers)))
        .values(state="queued", claimed_by=None, claimed_at=None)
    )
    return int(result.rowcount)


def select_due(now: dt.datetime, limit: int) -> Select[tuple[int]]:
    """The ``limit`` oldest queued rows due at ``now``, read in id order from ``ix_digest_outbox_in_flight``.

    It names the index's own WHERE term (schema.py ``OUTBOX_IN_FLIGHT``), so both databases may read it.
    """
    return (
        select(digest_outbox.c.id)
        .where(
            OUTBOX_IN_FLIGHT,
            digest_outbox.c.state == "queued",
            or_(digest_outbox.c.next_attempt_at.is_(None), digest_outbox.c.next_attempt_at <= now),
        )
        .order_by(digest_outbox.c.id)
        .limit(limit)
    )


def claim_batch(conn: Connection, worker: str, now: dt.datetime, limit: int) -> list[ClaimedDigest]:
    """Take up to ``limit`` queued rows that are due, oldest first, for ``worker``.

    On PostgreSQL the rows are picked in a CTE with ``FOR UPDATE SKIP LOCKED``: as a plain
    ``IN (subquery)`` the planner may rescan the subquery and claim far more than ``limit``.
    The rows are read from ``ix_digest_outbox_in_flight`` in order whatever the statistics say
    (store/index_order.py: the queue fills faster than they follow).
    """
    keep_index_order(conn)
    due = select_due(now, limit)
    claim = update(digest_outbox).values(state="sending", claimed_by=worker, claimed_at=now)
    if conn.dialect.name == "postgresql":
        picked = due.with_for_update(skip_locked=True).cte("picked")
        claim = claim.where(digest_outbox.c.id == picked.c.id)
    else:
        claim = claim.where(digest_outbox.c.id.in_(due.scalar_subquery()), digest_outbox.c.state == "queued")
    rows = conn.execute(
        claim.returning(
            digest_outbox.c.id,
            digest_outbox.c.subscriber_id,
            digest_outbox.c.period_key,
            digest_outbox.c.message_id,
            digest_outbox.c.due_at,
            digest_outbox.c.attempts,
            digest_outbox.c.selection_id,
        )
    ).all()
    claimed = [
        ClaimedDigest(
            id=int(row.id),
            subscriber_id=int(row.subscriber_id),
            period_key=str(row.period_key),
            message_id=str(row.message_id),
            due_at=as_utc(row.due_at),
            attempts=int(row.attempts),
            selection_id=int(row.selection_id),
        )
        for row in rows
    ]
    return sorted(claimed, key=lambda digest: digest.id)


def _held(delivery_id: int, worker: str) -> ColumnElement[bool]:
    queue = digest_outbox.c
    return and_(queue.id == delivery_id, queue.claimed_by == worker, queue.state == "sending")


def _read_held_statement(delivery: str) -> Select[tuple[str]]:
    """The subscriber's status behind delivery row ``:delivery`` while ``:worker`` holds it."""
    return (
        select(subscribers.c.status)
        .select_from(digest_outbox.join(subscribers, subscribers.c.id == digest_outbox.c.subscriber_id))
        .where(
            digest_outbox.c.id == bindparam(delivery),
            digest_outbox.c.claimed_by == bindparam("worker"),
            digest_outbox.c.state == "sending",
        )
    )


def _write_sent_statement(delivery: str) -> Update:
    """Record delivery row ``:delivery`` as sent by ``:worker`` at ``:now``, unless it already is."""
    return (
        update(digest_outbox)
        .where(digest_outbox.c.id == bindparam(delivery), digest_outbox.c.state != "sent")
        .values(
            state="sent",
            sent_at=bindparam("now"),
            claimed_by=bindparam("worker"),
            attempts=digest_outbox.c.attempts + 1,
            next_attempt_at=None,
            error=None,
        )
    )


# Built once: these run once per message, and building a statement cost more than running it.
_READ_HELD = _read_held_statement("delivery_id")
_WRITE_SENT = _write_sent_statement("delivery_id")
# PostgreSQL: both in one statement, run in autocommit (issue 13). A statement is atomic and commits
# on its own, so the record and the read still share one transaction, in one round trip instead of
# four (BEGIN, UPDATE, SELECT, COMMIT). The UPDATE runs even though nothing but the count reads it
# (PostgreSQL runs every data-modifying CTE to completion); ``sent_id`` NULL updates no row.
_SENT = _write_sent_statement("sent_id").returning(digest_outbox.c.id).cte("sent")
_WRITE_SENT_READ_HELD = select(
    select(func.count()).select_from(_SENT).scalar_subquery().label("recorded"),
    _read_held_statement("held_id").scalar_subquery().label("status"),
)
_TOUCH_CLAIMS = (
    update(digest_outbox)
    .where(OUTBOX_IN_FLIGHT, digest_outbox.c.claimed_by == bindparam("worker"), digest_outbox.c.state == "sending")
    .values(claimed_at=bindparam("now"))
)


def _driver_statement(statement: ClauseElement, dialect: Dialect) -> tuple[str, Callable[[dict[str, Any]], Any]]:
    """``statement`` compiled once for ``dialect``: its SQL text and how to turn named values into its parameters.

    The literal values the statement holds (its states, its NULLs) are bound by the compiler;
    they are merged under the caller's named ones.
    """
    compiled = cast(SQLCompiler, statement.compile(dialect=dialect))
    fixed = dict(compiled.params)
    order = compiled.positiontup
    if order is None:
        return str(compiled), lambda values: {**fixed, **values}
    if len(order) == 1:
        (only,) = order
        return str(compiled), lambda values: ({**fixed, **values}[only],)
    # itemgetter builds the tuple in C: a generator over the names cost a quarter of the held check (issue 13).
    pick = operator.itemgetter(*order)
    return str(compiled), lambda values: pick({**fixed, **values})


class HeldCheck:
    """A delivery worker's per-message transaction, run on the connection's driver.

    Before each message a worker records the message before it as sent (``write_sent``) and
    reads whether it still holds the next row (``read_held``), in one transaction. Through
    SQLAlchemy's statement machinery (events, the compiled cache, result objects) that cost
    four times what the two statements cost in SQLite, 0.3 ms of 0.07; at 100,000 messages it
    is half a minute of CPU. So this runs the same statements, compiled once, on the DBAPI
    connection under the pooled ``conn``, which must not be inside a SQLAlchemy transaction.
    On PostgreSQL they are one statement (``_WRITE_SENT_READ_HELD``) sent in autocommit: one
    round trip per message instead of four (issue 13). The connection stays in autocommit from one
    message to the next, on one cursor (switching autocommit on and off and opening a cursor for
    each message cost a third of the check's CPU, 20 of 65 µs): whoever uses ``conn`` otherwise
    calls ``end_autocommit`` first, and ``close`` before the connection goes back to the pool. The
    timestamp goes through the column type's own bind processor, so it is stored exactly as
    SQLAlchemy stores it.
    """

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._cursor: Any = None  # PostgreSQL: the check's cursor, open while the connection is in autocommit
        self._sqlite = conn.dialect.name == "sqlite"
        # _WRITE_SENT and _READ_HELD themselves, compiled once: one definition of each statement.
        self._sent_sql, self._sent_parameters = _driver_statement(_WRITE_SENT, conn.dialect)
        self._held_sql, self._held_parameters = _driver_statement(_READ_HELD, conn.dialect)
        self._both = None if self._sqlite else _driver_statement(_WRITE_SENT_READ_HELD, conn.dialect)
        # The dialect's own DateTime (SQLite: text without the offset); a bare datetime would reach
        # sqlite3's default adapter, which writes another format.
        self._timestamp = digest_outbox.c.sent_at.type.dialect_impl(conn.dialect).bind_processor(conn.dialect)

    def run(self, *, sent: int | None, held: int, worker: str, now: dt.datetime) -> tuple[bool, str | None]:
        """Record delivery ``sent`` (if not None) as sent at ``now``, then read the status behind ``held``.

        :returns: whether ``sent`` was recorded by this call (False: already recorded, or none
            given), and the subscriber's status when ``worker`` still holds ``held``, else None.
        """
        driver = self.conn.connection.driver_connection
        assert driver is not None
        when = self._timestamp(now) if self._timestamp is not None else now
        if self._both is None:
            return self._run_sqlite(driver, sent=sent, held=held, worker=worker, when=when)
        sql, parameters = self._both
        values = {"sent_id": sent, "held_id": held, "worker": worker, "now": when}
        cursor = self._cursor
        if cursor is None:
            # Autocommit is psycopg's own client-side switch (no BEGIN sent): the one statement commits itself.
            driver.autocommit = True
            cursor = self._cursor = driver.cursor()
        cursor.execute(sql, parameters(values))
        row = cursor.fetchone()
        assert row is not None  # a SELECT without FROM always returns its one row
        recorded, status = row
        return int(recorded) == 1, None if status is None else str(status)

    def end_autocommit(self) -> None:
        """Before ``conn`` runs anything else: its transactions are SQLAlchemy's again (PostgreSQL; SQLite: no-op)."""
        cursor, self._cursor = self._cursor, None
        if cursor is None:
            return
        cursor.close()
        driver = self.conn.connection.driver_connection
        assert driver is not None
        driver.autocommit = False

    def _run_sqlite(
        self, driver: Any, *, sent: int | None, held: int, worker: str, when: Any
    ) -> tuple[bool, str | None]:
        cursor = driver.cursor()
        try:
            begin_immediate(cursor.execute)  # the write lock up front, as store/engine.py takes it
            recorded = False
            if sent is not None:
                values = {"now": when, "worker": worker, "delivery_id": sent}
                cursor.execute(self._sent_sql, self._sent_parameters(values))
                recorded = cursor.rowcount == 1
            cursor.execute(self._held_sql, self._held_parameters({"delivery_id": held, "worker": worker}))
            row = cursor.fetchone()
            cursor.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(Exception):
                driver.rollback()
            raise
        finally:
            cursor.close()
        return recorded, None if row is None else str(row[0])


def set_commit_wait(conn: Connection, *, wait: bool) -> None:
    """Whether this connection's commits wait for the disk (PostgreSQL's ``synchronous_commit``); SQLite: no-op.

    A delivery worker commits once per message (digest/outcome.py), and on PostgreSQL each commit
    waited for its WAL flush: 0.3-0.8 ms a message, most of the worker's time there (issue 13).
    ``wait=False`` lets those commits return once written; the server flushes them within
    ``wal_writer_delay`` whatever becomes of the worker, so a killed worker still resends at most
    the one message it had in hand. What is lost is what a crash of the database server or of its
    machine forgets: the last fraction of a second of "sent" records, whose messages the next run
    sends again (same Message-ID; never lost). SQLite's delivery already commits that way (WAL with
    ``synchronous=NORMAL``: a power cut may forget the last commits, a killed process does not).
    The setting is the connection's: set it back (``wait=True``) before the connection goes back
    to the pool.
    """
    if conn.dialect.name != "postgresql":
        return
    conn.exec_driver_sql("SET synchronous_commit TO " + ("DEFAULT" if wait else "off"))
    conn.commit()


def read_held(conn: Connection, delivery_id: int, worker: str) -> str | None:
    """The subscriber's status if ``worker`` still holds the row; None when it was taken over or erased."""
    status = conn.execute(_READ_HELD, {"delivery_id": delivery_id, "worker": worker}).scalar_one_or_none()
    return None if status is None else str(status)


def write_sent(conn: Connection, delivery_id: int, worker: str, now: dt.datetime) -> bool:
    """Record that the mail server accepted this digest; False when it was already recorded.

    Called only after the acceptance, so it records the truth whatever became of the row
    meanwhile (taken over, cancelled by an unsubscribe that came in while it was on the
    wire): the message went out. False means another worker sent and recorded it too.
    """
    result = conn.execute(_WRITE_SENT, {"delivery_id": delivery_id, "worker": worker, "now": now})
    return result.rowcount == 1


def touch_claims(conn: Connection, worker: str, now: dt.datetime) -> None:
    """Mark the rows ``worker`` holds as claimed now, so a working worker is never taken for a stopped one."""
    conn.execute(_TOUCH_CLAIMS, {"worker": worker, "now": now})


def write_retry(conn: Connection, delivery_id: int, worker: str, *, next_attempt_at: dt.datetime, error: str) -> bool:
    """A temporary failure: back to the queue, due again at ``next_attempt_at``."""
    result = conn.execute(
        update(digest_outbox)
        .where(_held(delivery_id, worker))
        .values(
            state="queued",
            attempts=digest_outbox.c.attempts + 1,
            next_attempt_at=next_attempt_at,
            claimed_by=None,
            claimed_at=None,
            error=error[:2000],
        )
    )
    return result.rowcount == 1


def write_failed(conn: Connection, delivery_id: int, worker: str, *, error: str) -> bool:
    """A permanent failure, or attempts used up: this digest will not be sent."""
    result = conn.execute(
        update(digest_outbox)
        .where(_held(delivery_id, worker))
        .values(
            state="failed",
            attempts=digest_outbox.c.attempts + 1,
            claimed_by=None,
            error=error[:2000],
        )
    )
    return result.rowcount == 1


def write_cancelled(conn: Connection, delivery_id: int, worker: str, *, reason: str) -> bool:
    """The subscriber left or bounces: the digest is dropped unsent."""
    result = conn.execute(
        update(digest_outbox)
        .where(_held(delivery_id, worker))
        .values(state="cancelled", claimed_by=None, error=reason[:2000])
    )
    return result.rowcount == 1


def release_deliveries(conn: Connection, delivery_ids: Sequence[int] | None, worker: str) -> int:
    """Give rows back untried (the run stops early): these ids, or all the worker holds when None.

    Their attempts are not counted; rows already sent or moved on are not touched.
    """
    statement = update(digest_outbox).where(
        OUTBOX_IN_FLIGHT, digest_outbox.c.claimed_by == worker, digest_outbox.c.state == "sending"
    )
    if delivery_ids is not None:
        if not delivery_ids:
            return 0
        statement = statement.where(digest_outbox.c.id.in_(list(delivery_ids)))
    result = conn.execute(statement.values(state="queued", claimed_by=None, claimed_at=None))
    return int(result.rowcount)


def count_deliveries(conn: Connection) -> dict[str, int]:
    """How many deliveries are in each state."""
    rows = conn.execute(select(digest_outbox.c.state, func.count()).group_by(digest_outbox.c.state))
    return {str(state): int(count) for state, count in rows}
