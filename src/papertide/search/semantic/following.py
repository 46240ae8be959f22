"""Keeping a process's vector index current: the host's snapshot followed, the database caught up (issue 14).

The vector index beside the database is a cache: a snapshot (snapshot.py) memory-mapped and
shared by the processes of the host, plus an in-memory delta caught up by ``change_seq`` before
every search, so vectors written by another process (an ingest job, another web worker,
another host) are found at once (replica.py). One process per host, elected by a lock file
(election.py), writes the snapshots; the others move to each new one when the pointer file
changes. A base of SemanticSearcher (searcher.py), which adds the model and the reading side.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from papertide.search.changes import fetch_database_id
from papertide.search.election import WriterElection
from papertide.search.semantic.days import PublishedDays, fetch_published_days
from papertide.search.semantic.index import IndexConfig
from papertide.search.semantic.mapped import MappedIndex
from papertide.search.semantic.replica import ReplicaIndex
from papertide.search.semantic.snapshot import pointer_stamp, read_snapshot, write_snapshot
from papertide.search.semantic.vectors import (
    ModelMismatch,
    VectorSpace,
    check_space,
    fetch_max_change_seq,
    fetch_space,
    fetch_vector_stats,
    iter_vectors,
)
from papertide.store.engine import single_statement_reads

log = logging.getLogger(__name__)

# The index is saved after this many changes (and at the end of sync and rebuild); a restart
# catches up on the rest from the database.
SAVE_AFTER_CHANGES = 2000


class ReplicaFollower:
    """Opens the host's vector index, follows its snapshots and catches it up with ``paper_vectors``."""

    engine: Engine
    index_dir: Path
    index_config: IndexConfig
    model_name: str
    space: VectorSpace
    index: ReplicaIndex | None
    # The change seq of the last vector applied, and how many were read since the searcher was created.
    applied: int
    caught_up: int
    # Why the stored vectors cannot be used with the configured model (None: they can).
    mismatch: str | None
    _database_id: str
    _lock: threading.RLock
    _save_lock: threading.Lock
    _election: WriterElection
    _stamp: tuple[int, int, int] | None
    # Snapshots this object has written (tests and reports).
    snapshots_written: int

    def __init__(self, engine: Engine, index_dir: Path, index_config: IndexConfig, space: VectorSpace) -> None:
        self.engine = engine
        # The freshness check on every request: one statement, no transaction (store/engine.py).
        self._probe = single_statement_reads(engine)
        self.index_dir = index_dir
        self.index_config = index_config
        self.model_name = space.model
        self.space = space
        self.index = None
        self.applied = 0
        self.caught_up = 0
        self.mismatch = None
        self._database_id = ""
        self._lock = threading.RLock()
        self._save_lock = threading.Lock()
        self.snapshots_written = 0
        # One writer per host writes snapshots; the others follow them (issue 14).
        self._election = WriterElection(index_dir)
        self._stamp = None

    def open(self) -> None:
        """Compare the recorded model, then load the saved index and catch it up with the database."""
        with self._lock:
            self._database_id = fetch_database_id(self.engine)
            configured = VectorSpace(self.model_name, self.space.dim)
            with self.engine.connect() as conn:
                try:
                    check_space(conn, configured)
                    self.mismatch = None
                except ModelMismatch as error:
                    self.mismatch = str(error)
                recorded = fetch_space(conn)
            self.space = recorded if recorded is not None and recorded.accepts(configured) else configured
            self._election.try_acquire()  # the first process to open the index on a host writes it
            self._load_index()

    def check(self) -> None:
        """Raise ModelMismatch when the stored vectors belong to another model (until a reindex)."""
        if self.mismatch is not None:
            raise ModelMismatch(self.mismatch)

    def _load_index(self) -> None:
        self.index, self.applied, self._stamp = None, 0, None
        if not self.space.dim:
            return
        with self.engine.connect() as conn:
            count, latest = fetch_vector_stats(conn, self.space)
        self._stamp = pointer_stamp(self.index_dir)
        base, applied = self._usable_snapshot(read_snapshot(self.index_dir, self.index_config), latest)
        self.index = ReplicaIndex(self.space.dim, self.index_config, base, self.index_config.kind_for(count))
        self.applied = applied
        self._catch_up()
        if len(self.index) != count:
            # Papers deleted since the snapshot, or a snapshot of a different history: start over.
            log.info("vector index holds %d vectors, the database %d: rebuilding it", len(self.index), count)
            self.index = ReplicaIndex(self.space.dim, self.index_config, None, self.index_config.kind_for(count))
            self.applied = 0
            self._catch_up()
        # No snapshot is written here: opening happens on a request's path; the host's
        # maintenance loop (``maintain``) or the indexing commands write it.

    def _usable_snapshot(
        self, snapshot: tuple[MappedIndex, dict[str, Any]] | None, latest: int
    ) -> tuple[MappedIndex | None, int]:
        """The snapshot and its change seq when it mirrors this database and vector space, else (None, 0)."""
        if snapshot is None:
            return None, 0
        index, meta = snapshot
        usable = (
            meta.get("database_id") == self._database_id
            and meta.get("space") == self.space.key
            and index.dim == self.space.dim
            and int(meta.get("change_seq", -1)) <= latest
        )
        return (index, int(meta["change_seq"])) if usable else (None, 0)

    def _catch_up(self) -> None:
        assert self.index is not None
        for ids, vectors, change_seq in iter_vectors(self.engine, self.space, self.applied):
            self.index.add(ids, vectors)
            self.applied = change_seq
            self.caught_up += len(ids)

    def _follow(self, latest: int) -> None:
        """Move to the snapshot the pointer names now (written by the host's writer); keep ours if it is unusable."""
        stamp = pointer_stamp(self.index_dir)
        snapshot = read_snapshot(self.index_dir, self.index_config) if stamp is not None else None
        base, applied = self._usable_snapshot(snapshot, latest)
        self._stamp = stamp
        if base is None:
            return
        self.index = ReplicaIndex(self.space.dim, self.index_config, base, base.kind)
        self.applied = applied
        self._catch_up()

    @property
    def is_writer(self) -> bool:
        """Whether this process writes the host's snapshots (it takes over when the writer is gone)."""
        return self._election.try_acquire()

    def refresh(self) -> None:
        """Follow a newer snapshot and apply vectors written since the last look (into the delta only).

        Two cheap checks when nothing changed (one ``stat`` of the pointer file, one indexed
        query). Requests call this, so it never writes a snapshot: merging a large delta takes
        seconds to minutes at a million papers, and is left to ``maintain`` (issue 14).
        """
        with self._probe.connect() as conn:
            latest = fetch_max_change_seq(conn)
        moved = pointer_stamp(self.index_dir) != self._stamp
        if latest <= self.applied and not moved:
            return
        with self._lock:
            if self.index is None:
                self.open()
                return
            if moved:
                self._follow(latest)
            self._catch_up()

    def maintain(self) -> bool:
        """As the host's writer, merge the delta into a new snapshot once it calls for one; True when written.

        The step of the host's background maintenance loop (search/maintenance.py), never of a request.
        """
        if self.index is None or not self.is_writer:
            return False
        self.refresh()
        with self._lock:
            merge = self.index is not None and self.index.needs_merge(SAVE_AFTER_CHANGES)
        return self.save() if merge else False

    def save(self) -> bool:
        """As the host's writer, write the index as a snapshot and move to it; False in any other process.

        The merge runs on a frozen copy outside the lock, so searches go on meanwhile; vectors
        that arrive during it are caught up again from the database afterwards.
        """
        # A save already running in another thread covers this one (and waiting could deadlock with open).
        if not self.is_writer or not self._save_lock.acquire(blocking=False):
            return False
        try:
            with self._lock:
                if self.index is None:
                    return False
                frozen = self.index.frozen()
                meta = {"database_id": self._database_id, "space": self.space.key, "change_seq": self.applied}
            wanted = self.index_config.kind_for(len(frozen))
            if frozen.kind != wanted:
                log.info("rebuilding the vector index as %s for %d vectors", wanted, len(frozen))
            with self.engine.connect() as conn:
                published = fetch_published_days(conn)
            write_snapshot(self.index_dir, frozen.merged(), meta, published)
            self.snapshots_written += 1
            with self._lock, self.engine.connect() as conn:
                self._follow(fetch_max_change_seq(conn))
            return True
        finally:
            self._save_lock.release()

    def published_days(self) -> PublishedDays | None:
        """Every paper's publication day as of the followed snapshot (days.py); None without one."""
        index = self.index
        return index.base.published if index is not None and index.base is not None else None

    def close(self) -> None:
        """Give up writing the host's snapshots (another process takes over); the searcher stays usable."""
        self._election.release()
