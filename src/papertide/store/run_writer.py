"""One connection kept for a run of write transactions: an ingest run's batches (issue 13).

An ingest run writes a batch every few hundred milliseconds for minutes or hours. Through
:func:`~papertide.store.engine.begin_write` each batch would take whichever pooled connection
comes next (the pool is FIFO), each with SQLite's default page cache of 2 MB, so the B-tree
pages a batch had just read were cold again for the next one. Once the indexes outgrow the
cache, every row added to an index whose keys are not in insertion order (authors by name,
papers by publication date) reads its leaf page back from the file: at 200,000 papers that was
the larger part of a snapshot's CPU (1,400 papers per CPU-second against 3,200 with the cache
below; docs/ingest.md).

:class:`RunWriter` holds one connection for the run and, on SQLite, gives it a page cache of
:data:`RUN_CACHE_KIB` and lets its write-ahead log grow to :data:`RUN_WAL_AUTOCHECKPOINT_PAGES`
before a checkpoint copies it back, so a page written by several batches in a row is copied
once. Both are set back when the run ends: the memory goes back and the connection returns to
the pool as it came. On PostgreSQL the connection is simply kept (its server keeps the cache).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine

# 64 MiB: at 1,000,000 papers the indexes a batch touches (authors, categories, dates) are about
# 300 MB; this keeps their interior pages and the recently written leaves. Allocated as used.
RUN_CACHE_KIB = 65_536
# 10,000 pages (40 MB with 4 KiB pages) instead of SQLite's 1,000: one checkpoint per few batches.
RUN_WAL_AUTOCHECKPOINT_PAGES = 10_000


class RunWriter:
    """Write transactions on one held connection; made by :func:`run_writer`."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A write transaction, as ``begin_write`` gives (on SQLite, BEGIN IMMEDIATE), on the held connection."""
        self._conn.info["write"] = True
        try:
            with self._conn.begin():
                yield self._conn
        finally:
            # Set only for the transaction: reads on this connection must not take the write lock.
            self._conn.info.pop("write", None)


def _pragma(driver: Any, name: str, value: int | None = None) -> int:
    """Read a SQLite pragma, or set it and return what it was."""
    before = int(driver.execute(f"PRAGMA {name}").fetchone()[0])
    if value is not None:
        driver.execute(f"PRAGMA {name}={int(value)}")
    return before


@contextmanager
def run_writer(engine: Engine) -> Iterator[RunWriter]:
    """Hold one connection for a run of write transactions, with a larger page cache on SQLite."""
    with engine.connect() as conn:
        if conn.dialect.name != "sqlite":
            yield RunWriter(conn)
            return
        # On the driver's connection, outside any transaction: through SQLAlchemy the PRAGMA would
        # begin one (store/engine.py's "begin" hook).
        driver = conn.connection.driver_connection
        cache = _pragma(driver, "cache_size", -RUN_CACHE_KIB)
        checkpoint = _pragma(driver, "wal_autocheckpoint", RUN_WAL_AUTOCHECKPOINT_PAGES)
        try:
            yield RunWriter(conn)
        finally:
            if conn.in_transaction():
                conn.rollback()
            _pragma(driver, "cache_size", cache)
            _pragma(driver, "wal_autocheckpoint", checkpoint)
