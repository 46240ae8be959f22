"""Semantic search: papers and queries embedded by one model, nearest neighbours by cosine.

The ``paper_vectors`` table is the truth (vectors.py); the vector index beside the
database is a cache: a snapshot (snapshot.py) memory-mapped and shared by the processes of the
host, plus an in-memory delta caught up by ``change_seq`` before every search, so vectors
written by another process (an ingest job, another web worker, another host) are found at
once (replica.py). One process per host, elected by a lock file (election.py), writes the
snapshots; the others move to each new one when the pointer file changes (issue 14). The
embedding model is loaded on first use: opening a searcher to find similar papers never loads
it. Papers are embedded by the bulk backend (backends.py: the fastest that keeps quality on this
machine, issue 13) and queries by the configured backend; both are the same model, so their
vectors share one space.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Engine

from papertide.domain.clock import utc_now
from papertide.domain.models import Hit
from papertide.search.changes import fetch_database_id
from papertide.search.election import WriterElection
from papertide.search.semantic.backends import AUTO, BulkChoice, Capabilities, fetch_capabilities, select_bulk_backend
from papertide.search.semantic.embedder import embed_papers, load_embedder
from papertide.search.semantic.index import IndexConfig
from papertide.search.semantic.mapped import MappedIndex
from papertide.search.semantic.model import Embedder, resolve_model
from papertide.search.semantic.passages import Vectors
from papertide.search.semantic.query_vectors import QueryVectorCache
from papertide.search.semantic.replica import ReplicaIndex
from papertide.search.semantic.snapshot import pointer_stamp, read_snapshot, write_snapshot
from papertide.search.semantic.vectors import (
    ModelMismatch,
    PaperToEmbed,
    VectorSpace,
    check_space,
    fetch_max_change_seq,
    fetch_papers_by_id,
    fetch_papers_to_embed,
    fetch_pending_count,
    fetch_space,
    fetch_vector_stats,
    iter_vectors,
    write_current_seq,
    write_space,
    write_vectors,
)
from papertide.store.engine import begin_write

log = logging.getLogger(__name__)
Progress = Callable[[int], None]

# Papers embedded and written per transaction: an interrupted run keeps what it finished.
PAPERS_PER_BATCH = 256
# The index is saved after this many changes (and at the end of sync and rebuild); a restart
# catches up on the rest from the database.
SAVE_AFTER_CHANGES = 2000


def vector_directory_for(data_dir: Path) -> Path:
    """Where the vector index lives under the data directory."""
    return data_dir / "search" / "vectors"


def model_cache_for(data_dir: Path) -> Path:
    """Where locally exported ONNX models are cached."""
    return data_dir / "models"


class SemanticSearcher:
    """Embeds papers into ``paper_vectors`` and answers nearest-neighbour queries over them."""

    def __init__(
        self,
        engine: Engine,
        index_dir: Path,
        *,
        model: str,
        backend: str,
        cache_dir: Path,
        batch_size: int = 32,
        threads: int = 0,
        index_config: IndexConfig | None = None,
        embedder: Embedder | None = None,
        query_cache_size: int = 256,
        bulk_backend: str = AUTO,
        capabilities: Capabilities | None = None,
    ) -> None:
        self.engine = engine
        self.index_dir = index_dir
        self.backend = backend
        self.cache_dir = cache_dir
        self.batch_size = batch_size
        self.threads = threads
        self.index_config = index_config or IndexConfig()
        self.model_name = embedder.name if embedder is not None else resolve_model(model).name
        self._model = model
        self._embedder = embedder
        self.bulk_backend = bulk_backend
        self._capabilities = capabilities
        self._bulk_choice: BulkChoice | None = None
        self._document_embedder = embedder
        # An embedder handed in (tests, a model already loaded) embeds queries and papers alike.
        self._injected = embedder
        self.space = VectorSpace(self.model_name, embedder.dim if embedder else 0)
        self.index: ReplicaIndex | None = None
        self.applied = 0
        # Vectors read from the database since this searcher was created (the catch-up's work).
        self.caught_up = 0
        # Why the stored vectors cannot be used with the configured model (None: they can).
        self.mismatch: str | None = None
        self._database_id = ""
        self._lock = threading.RLock()
        self._save_lock = threading.Lock()
        # One writer per host writes snapshots; the others follow them (issue 14).
        self._election = WriterElection(index_dir)
        self._stamp: tuple[int, int, int] | None = None
        # Snapshots this object has written (tests and reports).
        self.snapshots_written = 0
        self.query_vectors = QueryVectorCache(query_cache_size)

    # --- opening and keeping up -------------------------------------------------------------

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

    @property
    def embedder(self) -> Embedder:
        """The embedding model, loaded on first use; its width must match the stored vectors."""
        if self._embedder is None:
            with self._lock:
                if self._embedder is None:
                    self._embedder = load_embedder(self._model, self.backend, self.cache_dir, threads=self.threads)
        if self.space.dim and self._embedder.dim != self.space.dim:
            raise ModelMismatch(
                f"model {self.model_name!r} makes {self._embedder.dim}-dimensional vectors but the stored ones have "
                f"{self.space.dim}: run `papertide reindex`"
            )
        if not self.space.dim:
            self.space = VectorSpace(self.model_name, self._embedder.dim)
        return self._embedder

    @property
    def bulk_choice(self) -> BulkChoice:
        """The backend that embeds papers and why; an injected embedder embeds everything."""
        if self._bulk_choice is None:
            if self._injected is not None:
                self._bulk_choice = BulkChoice(self._injected.backend, "the embedder given to the searcher")
            else:
                capabilities = self._capabilities or fetch_capabilities()
                self._bulk_choice = select_bulk_backend(self.bulk_backend, self.model_name, self.backend, capabilities)
        return self._bulk_choice

    @property
    def document_embedder(self) -> Embedder:
        """The model that embeds papers: the query embedder itself when the bulk choice is the same backend."""
        if self._document_embedder is None:
            choice = self.bulk_choice
            with self._lock:
                if self._document_embedder is None:
                    if choice.backend == self.backend:
                        self._document_embedder = self.embedder
                    else:
                        log.info("papers are embedded with %s: %s", choice.backend, choice.reason)
                        self._document_embedder = load_embedder(
                            self._model, choice.backend, self.cache_dir, threads=self.threads
                        )
        if self.space.dim and self._document_embedder.dim != self.space.dim:
            raise ModelMismatch(
                f"model {self.model_name!r} makes {self._document_embedder.dim}-dimensional vectors but the stored "
                f"ones have {self.space.dim}: run `papertide reindex`"
            )
        return self._document_embedder

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
        with self.engine.connect() as conn:
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
            write_snapshot(self.index_dir, frozen.merged(), meta)
            self.snapshots_written += 1
            with self._lock, self.engine.connect() as conn:
                self._follow(fetch_max_change_seq(conn))
            return True
        finally:
            self._save_lock.release()

    def close(self) -> None:
        """Give up writing the host's snapshots (another process takes over); the searcher stays usable."""
        self._election.release()

    # --- reading ----------------------------------------------------------------------------

    def search(self, query: str, k: int, candidates: Collection[int] | None = None) -> list[Hit]:
        """The ``k`` papers nearest in meaning to ``query`` (cosine), among ``candidates`` when given."""
        self.check()
        vector = self.embed_query(query)
        self.refresh()
        with self._lock:
            if self.index is None:
                return []
            pairs = self.index.search(vector, k, candidates)
        return [Hit(paper_id=paper_id, score=score) for paper_id, score in pairs]

    def embed_query(self, query: str) -> Vectors:
        """The query's vector: kept from a recent identical query, or embedded by the model now."""
        embedder = self.embedder
        key = (embedder.name, embedder.backend, query)
        vector = self.query_vectors.get(key)
        if vector is None:
            vector = embedder.embed_query(query)
            self.query_vectors.put(key, vector)
        return vector

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        """The vectors of many queries in a few model calls (the digest's topics, issue 13)."""
        self.check()
        # Queries and documents go through the same model call: no prefix tells them apart.
        return self.embedder.embed_documents(list(texts), batch_size=64)

    def candidate_vectors(self, candidates: Collection[int]) -> tuple[npt.NDArray[np.int64], Vectors]:
        """Ids and vectors of those ``candidates`` that have a vector, in the index's row order."""
        self.check()
        self.refresh()
        with self._lock:
            if self.index is None:
                return np.zeros(0, dtype=np.int64), np.zeros((0, max(self.space.dim, 1)), dtype=np.float32)
            return self.index.vectors_of(candidates)

    def similar(self, paper_id: int, k: int) -> list[Hit]:
        """The ``k`` papers nearest to a paper, itself excluded; empty when it has no vector."""
        self.check()
        self.refresh()
        with self._lock:
            vector = self.index.vector(paper_id) if self.index is not None else None
            if vector is None or self.index is None:
                return []
            pairs = self.index.search(vector, k + 1)
        return [Hit(paper_id=pid, score=score) for pid, score in pairs if pid != paper_id][:k]

    def pending(self) -> int:
        """How many papers have no current vector."""
        with self.engine.connect() as conn:
            return fetch_pending_count(conn, VectorSpace(self.model_name, self.space.dim))

    # --- writing ----------------------------------------------------------------------------

    def _embed(self, papers: Sequence[PaperToEmbed], on_progress: Progress | None, force: bool) -> int:
        embedded = 0
        for start in range(0, len(papers), PAPERS_PER_BATCH):
            batch = papers[start : start + PAPERS_PER_BATCH]
            embedder = self.document_embedder
            space = VectorSpace(self.model_name, embedder.dim)
            unchanged = [] if force else [paper for paper in batch if paper.is_current(space)]
            todo = [paper for paper in batch if force or not paper.is_current(space)]
            vectors = embed_papers(embedder, [(p.title, p.abstract) for p in todo], batch_size=self.batch_size)
            with begin_write(self.engine) as conn:
                write_vectors(conn, space, list(zip(todo, vectors, strict=True)), utc_now())
                write_current_seq(conn, unchanged)
            embedded += len(todo)
            if on_progress:
                on_progress(len(batch))
        return embedded

    def _require_space(self) -> None:
        self.check()
        with self.engine.connect() as conn:
            check_space(conn, VectorSpace(self.model_name, self.document_embedder.dim))

    def index_papers(self, paper_ids: Sequence[int], on_progress: Progress | None = None) -> int:
        """Embed, store and index these papers where their vector is missing or stale; returns how many.

        With vectors of another model stored, nothing is embedded (a warning is logged): the
        papers stay searchable by words until ``papertide reindex``, and ingestion goes on.
        """
        try:
            self._require_space()
        except ModelMismatch as error:
            log.warning("%d papers not embedded: %s", len(paper_ids), error)
            return 0
        with self.engine.connect() as conn:
            papers = fetch_papers_by_id(conn, paper_ids)
        embedded = self._embed(papers, on_progress, force=False)
        self.refresh()
        return embedded

    def sync(self, on_progress: Progress | None = None) -> int:
        """Embed every paper whose vector is missing or stale (by seq and text); returns how many.

        The model is loaded only when there is something to embed.
        """
        self.check()
        space = VectorSpace(self.model_name, self.space.dim)
        embedded, cursor = 0, 0
        while True:
            with self.engine.connect() as conn:
                papers = fetch_papers_to_embed(conn, space, cursor, PAPERS_PER_BATCH)
            if not papers:
                break
            if cursor == 0:
                self._require_space()
            cursor = papers[-1].id
            embedded += self._embed(papers, on_progress, force=False)
        self.refresh()
        if self.index is not None and self.index.unsaved:
            self.save()
        return embedded

    def rebuild(self, on_progress: Progress | None = None) -> int:
        """Embed every paper again with the configured model and rebuild the index (``papertide reindex``)."""
        space = VectorSpace(self.model_name, self.document_embedder.dim)
        with begin_write(self.engine) as conn:
            write_space(conn, space, utc_now())
        with self._lock:
            self.space = space
            self.index, self.applied, self.mismatch = None, 0, None
        embedded, cursor = 0, 0
        while True:
            with self.engine.connect() as conn:
                papers = fetch_papers_to_embed(conn, None, cursor, PAPERS_PER_BATCH)
            if not papers:
                break
            cursor = papers[-1].id
            embedded += self._embed(papers, on_progress, force=True)
        with self._lock:
            self._load_index()
        self.save()  # as the host's writer, the rebuilt index becomes the snapshot
        return embedded


def open_semantic(
    engine: Engine,
    index_dir: Path,
    *,
    model: str,
    backend: str,
    cache_dir: Path | None = None,
    batch_size: int = 32,
    threads: int = 0,
    index_config: IndexConfig | None = None,
    embedder: Embedder | None = None,
    query_cache_size: int = 256,
    allow_mismatch: bool = False,
    bulk_backend: str = AUTO,
    capabilities: Capabilities | None = None,
) -> SemanticSearcher:
    """A searcher over ``engine``'s vectors with its index in ``index_dir``.

    Raises ModelMismatch when the stored vectors come from another model, unless
    ``allow_mismatch``: such a searcher refuses to search or sync until ``rebuild``
    (``papertide reindex``). ``embedder`` replaces loading ``model`` with ``backend`` (tests,
    or a model already loaded) for queries and papers alike; otherwise papers are embedded
    with ``bulk_backend`` (``auto``: see backends.py), for this machine's ``capabilities``
    (read from it when None).
    """
    searcher = SemanticSearcher(
        engine,
        index_dir,
        model=model,
        backend=backend,
        cache_dir=cache_dir or index_dir.parent / "models",
        batch_size=batch_size,
        threads=threads,
        index_config=index_config,
        embedder=embedder,
        query_cache_size=query_cache_size,
        bulk_backend=bulk_backend,
        capabilities=capabilities,
    )
    searcher.open()
    if not allow_mismatch:
        searcher.check()
    return searcher
