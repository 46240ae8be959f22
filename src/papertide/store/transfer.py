"""Copying a whole papertide database into PostgreSQL (``papertide migrate-to``): every table, all or nothing.

The tables come from the SQLAlchemy metadata in dependency order (schema.py), so a table added
there is copied without a change here (tests/store/test_transfer.py holds every table to it).
The source is read inside one read transaction, one consistent snapshot even while a service
still writes to it. The target is written inside one transaction that empties it, copies every
table in batches, moves the id sequences past the copied ids, and compares each table's row
count and a checksum of its keys with the source's before it commits: a failure, a kill or a
lost connection leaves the target as it was (issue 14).

Rows are copied as they are, ``index_state`` included: the target keeps the source's database
id and change sequences, so the search indexes built from the source are valid replicas of the
target and only catch up, and a new host builds its vector index from the copied vectors
without embedding anything.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

from alembic.runtime.migration import MigrationContext
from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    DateTime,
    Engine,
    Integer,
    String,
    Table,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.exc import DBAPIError, OperationalError, StatementError

from papertide.domain.clock import as_utc
from papertide.domain.errors import PapertideError
from papertide.store.engine import begin_write
from papertide.store.schema import counters, metadata

Advance = Callable[[int], None]
# Called once per table with its name and row count; the context it returns receives the progress.
TableProgress = Callable[[str, int], AbstractContextManager[Advance]]

_INT32 = (-(2**31), 2**31 - 1)
_CHECKSUM_MODULUS = 2**64


class TransferError(PapertideError):
    """The copy was refused or failed; the target was left as it was."""


@dataclass(frozen=True, slots=True)
class TableCheck:
    """One table after the copy: rows and key checksum on both sides."""

    name: str
    source_rows: int
    target_rows: int
    source_checksum: int
    target_checksum: int

    @property
    def matches(self) -> bool:
        """Whether the target holds the same rows (by count and by key) as the source."""
        return self.source_rows == self.target_rows and self.source_checksum == self.target_checksum


@dataclass(frozen=True, slots=True)
class TransferReport:
    """What ``copy_database`` copied and checked."""

    revision: str
    tables: tuple[TableCheck, ...]
    # The next id each table's sequence hands out, by table.
    next_ids: dict[str, int]

    @property
    def rows(self) -> int:
        """Rows copied in all."""
        return sum(table.target_rows for table in self.tables)


def copy_order() -> list[Table]:
    """Every table of the schema, a table after those its foreign keys point to."""
    return list(metadata.sorted_tables)


def _revision(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def _key_text(value: Any) -> str:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return str(value)


def _key_digest(values: Sequence[Any]) -> int:
    """A 64-bit hash of one row's key: summed over a table, it does not depend on the row order."""
    joined = "\x1f".join(_key_text(value) for value in values)
    return int.from_bytes(hashlib.blake2b(joined.encode(), digest_size=8).digest(), "big")


def _describe_key(table: Table, row: dict[str, Any]) -> str:
    return ", ".join(f"{column.name}={row.get(column.name)!r}" for column in table.primary_key.columns)


def _column_check(column: Column[Any]) -> Callable[[Any], Any] | None:
    """How a value of ``column`` is made acceptable to PostgreSQL, or None when it needs nothing.

    SQLite keeps what it is given: longer strings than declared, NUL characters, 64-bit numbers in
    32-bit columns, and naive datetimes (papertide writes UTC). PostgreSQL refuses the first three
    and would read the last in its session's time zone; each is named here instead.
    """
    kind = column.type
    if isinstance(kind, DateTime) and kind.timezone:
        return lambda value: as_utc(value) if isinstance(value, dt.datetime) else value
    if isinstance(kind, String):
        limit = kind.length

        def check_text(value: Any) -> Any:
            if isinstance(value, str):
                if limit is not None and len(value) > limit:
                    raise ValueError(f"{len(value)} characters, the column holds at most {limit}")
                if "\x00" in value:
                    raise ValueError("contains a NUL character, which PostgreSQL cannot store")
            return value

        return check_text
    if isinstance(kind, Integer) and not isinstance(kind, BigInteger):

        def check_integer(value: Any) -> Any:
            if isinstance(value, int) and not _INT32[0] <= value <= _INT32[1]:
                raise ValueError(f"{value} does not fit the column's 32-bit integer")
            return value

        return check_integer
    return None


class _TableCopier:
    """Copies one table's rows, checking each value and summing the keys as it goes."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self.checks = [(column.name, check) for column in table.columns if (check := _column_check(column)) is not None]
        self.keys = [column.name for column in table.primary_key.columns]
        # Rows of the table in the source's snapshot (counted), and rows read and summed by key.
        self.total = 0
        self.rows = 0
        self.checksum = 0

    def prepare(self, rows: Sequence[Any]) -> list[dict[str, Any]]:
        prepared: list[dict[str, Any]] = []
        for row in rows:
            values = dict(row._mapping)
            for name, check in self.checks:
                try:
                    values[name] = check(values[name])
                except ValueError as error:
                    raise TransferError(
                        f"table {self.table.name}, row {_describe_key(self.table, values)}, column {name}: {error}"
                    ) from None
            self.checksum = (self.checksum + _key_digest([values[key] for key in self.keys])) % _CHECKSUM_MODULUS
            prepared.append(values)
        self.rows += len(prepared)
        return prepared


def _source_batches(conn: Connection, table: Table, batch_size: int) -> Iterator[Sequence[Any]]:
    statement = select(table).order_by(*table.primary_key.columns)
    try:
        yield from conn.execution_options(yield_per=batch_size).execute(statement).partitions()
    except (StatementError, ValueError, TypeError) as error:
        raise TransferError(f"table {table.name}: a row cannot be read from the source ({error})") from None


def _first_line(error: BaseException | None) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__


@contextmanager
def _refusals(table: Table) -> Iterator[None]:
    """Turn the target's refusal of a write into an error that names the table."""
    try:
        yield
    except OperationalError as error:
        raise TransferError(f"table {table.name}: lost the target database ({_first_line(error.orig)})") from None
    except DBAPIError as error:
        raise TransferError(f"table {table.name}: the target refused a row ({_first_line(error.orig)})") from None


def _copy_table(
    reading: Connection, writing: Connection, table: Table, batch_size: int, progress: TableProgress | None
) -> _TableCopier:
    copier = _TableCopier(table)
    copier.total = int(reading.execute(select(func.count()).select_from(table)).scalar_one())
    tracker = progress(table.name, copier.total) if progress else nullcontext(_ignore)
    with tracker as advance:
        for batch in _source_batches(reading, table, batch_size):
            rows = copier.prepare(batch)
            with _refusals(table):
                writing.execute(insert(table), rows)
            advance(len(rows))
    return copier


def _ignore(_count: int) -> None:
    return None


def _target_keys(conn: Connection, table: Table, batch_size: int) -> tuple[int, int]:
    """(rows, key checksum) of a table as the target holds it now."""
    rows, checksum = 0, 0
    statement = select(*table.primary_key.columns)
    for batch in conn.execution_options(yield_per=batch_size).execute(statement).partitions():
        for row in batch:
            checksum = (checksum + _key_digest(tuple(row))) % _CHECKSUM_MODULUS
        rows += len(batch)
    return rows, checksum


def held_rows(conn: Connection) -> dict[str, int]:
    """Rows per table the target holds beyond what the migrations themselves create (zeroed counters)."""
    held: dict[str, int] = {}
    for table in copy_order():
        statement = select(func.count()).select_from(table)
        if table is counters:
            statement = statement.where(counters.c.value != 0)
        count = int(conn.execute(statement).scalar_one())
        if count:
            held[table.name] = count
    return held


def _empty_target(conn: Connection, tables: Sequence[Table]) -> None:
    """Delete every row of the papertide tables, in the copy's transaction (one statement: no FK order)."""
    names = ", ".join(conn.dialect.identifier_preparer.quote(table.name) for table in tables)
    conn.execute(text(f"TRUNCATE {names}"))


def _reset_sequences(conn: Connection, tables: Sequence[Table]) -> dict[str, int]:
    """Move every id sequence past the copied ids, so the next insert does not collide; returns the next ids."""
    next_ids: dict[str, int] = {}
    for table in tables:
        keys = list(table.primary_key.columns)
        if len(keys) != 1 or not isinstance(keys[0].type, Integer):
            continue
        sequence = conn.execute(select(func.pg_get_serial_sequence(table.name, keys[0].name))).scalar()
        if sequence is None:
            continue
        following = int(conn.execute(select(func.max(keys[0]))).scalar() or 0) + 1
        conn.execute(
            text("SELECT setval(CAST(:sequence AS regclass), :value, false)"),
            {"sequence": sequence, "value": following},
        )
        next_ids[table.name] = following
    return next_ids


def copy_database(
    source: Engine,
    target: Engine,
    *,
    replace: bool = False,
    batch_size: int = 1000,
    progress: TableProgress | None = None,
) -> TransferReport:
    """Copy every table of ``source`` into the PostgreSQL database ``target`` at the same schema revision.

    :param replace: delete what the target holds first (in the same transaction); without it a
        target holding data is refused.
    :param progress: called per table with its name and row count; its context receives the rows copied.
    """
    if target.dialect.name != "postgresql":
        raise TransferError(f"migrate-to writes to PostgreSQL, not {target.dialect.name}")
    try:
        return _copy_all(source, target, replace, batch_size, progress)
    except DBAPIError as error:
        # Errors of a table's rows are named by _refusals; this is the rest (a lost connection
        # while checking or verifying): the transaction is gone, so nothing was committed.
        raise TransferError(f"the copy failed and nothing was committed: {_first_line(error.orig)}") from None


def _copy_all(
    source: Engine, target: Engine, replace: bool, batch_size: int, progress: TableProgress | None
) -> TransferReport:
    tables = copy_order()
    with source.connect() as reading, reading.begin(), begin_write(target) as writing:
        revision, target_revision = _revision(reading), _revision(writing)
        if revision is None or revision != target_revision:
            raise TransferError(
                f"the source is at schema {revision or 'none'} and the target at {target_revision or 'none'}: "
                "both must be at the same revision"
            )
        held = held_rows(writing)
        if held and not replace:
            listed = ", ".join(f"{name} {count}" for name, count in held.items())
            raise TransferError(
                f"the target database already holds papertide data ({listed}): choose an empty database, "
                "or pass --replace to delete that data in the same transaction"
            )
        with _refusals(tables[0]):
            _empty_target(writing, tables)
        copied = [_copy_table(reading, writing, table, batch_size, progress) for table in tables]
        next_ids = _reset_sequences(writing, tables)
        checks = []
        for copier in copied:
            rows, checksum = _target_keys(writing, copier.table, batch_size)
            checks.append(TableCheck(copier.table.name, copier.total, rows, copier.checksum, checksum))
            if copier.rows != copier.total:
                raise TransferError(f"table {copier.table.name}: read {copier.rows} of its {copier.total} rows")
        wrong = [check.name for check in checks if not check.matches]
        if wrong:
            raise TransferError(f"the copy differs from the source in {', '.join(wrong)}; nothing was committed")
    return TransferReport(revision=revision, tables=tuple(checks), next_ids=next_ids)
