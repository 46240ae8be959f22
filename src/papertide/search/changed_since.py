"""The papers changed since a vector snapshot's days were read, asked of the database once per search (issue 13).

A filter's first use answers from the snapshot's days and categories (semantic/days.py) and asks
the database only about the papers changed since the snapshot's seq, so the answer is the
database's now. Both sides of a hybrid search need that list (the word side checks its hits,
search/word_side.py; the meaning side its allowed ids or nearest papers, search/allowed_ids.py and
search/nearest_first.py), and each used to read it in a transaction of its own: on PostgreSQL
eight round trips (the pool's ping, BEGIN, the statement, ROLLBACK, twice) where the search's
freshness check had just read the highest seq. ``ChangedSince`` reads the list once for the whole
search, in one statement without a transaction (store/engine.py ``single_statement_reads``), and
not at all when that check found no paper changed since the snapshot.

Why the check's seq may stand for "now": papers' seqs only grow (search/changes.py), so a highest
seq read during this search at or below the snapshot's says that no paper had changed since the
snapshot when it was read; answering as of that moment is answering as of a moment of this
search, as the list read a little later would. Only a check this search made itself counts: one
by another request may be older than the search.
"""

from __future__ import annotations

import threading

import numpy as np
from sqlalchemy import Engine

from papertide.search.changes import fetch_changed_ids
from papertide.search.semantic.days import CHANGED_LIMIT, PublishedDays
from papertide.store.engine import single_statement_reads
from papertide.store.filtered_ids import Ids

NOTHING = np.zeros(0, dtype=np.int64)
NOTHING.flags.writeable = False


class ChangedSince:
    """The ids of the papers changed since snapshot ``published``, read at most once (thread-safe: both sides ask).

    :param latest: the highest ``papers.seq`` this search's freshness check read, or None when it
        made none; at or below ``seq``, nothing changed and nothing is read.
    """

    def __init__(self, engine: Engine, published: PublishedDays, latest: int | None = None) -> None:
        self.engine = engine
        self.published = published
        self.seq = published.seq
        self.latest = latest
        self._found: list[Ids | None] = []
        self._lock = threading.Lock()

    def ids(self) -> Ids | None:
        """The changed papers' ids, sorted and unique; None when more than ``CHANGED_LIMIT`` changed."""
        with self._lock:
            if not self._found:
                self._found.append(self._read())
            return self._found[0]

    def _read(self) -> Ids | None:
        if self.latest is not None and self.latest <= self.seq:
            return NOTHING
        with single_statement_reads(self.engine).connect() as conn:
            found = fetch_changed_ids(conn, self.seq, CHANGED_LIMIT + 1)
        if len(found) > CHANGED_LIMIT:
            return None
        ids = np.unique(np.array(found, dtype=np.int64))
        ids.flags.writeable = False
        return ids


def changed_since(engine: Engine, published: PublishedDays | None, latest: int | None) -> ChangedSince | None:
    """For a first use of ``published`` (None: none), its changes, with ``latest`` from the search's own check."""
    return None if published is None else ChangedSince(engine, published, latest)
