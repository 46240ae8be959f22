"""Embedding papers into ``paper_vectors``: missing or stale vectors, a full reindex (the write side).

Papers are embedded by the bulk backend (backends.py: the fastest that keeps quality on this
machine, issue 13) in batches, each written in its own transaction so that an interrupted run
keeps what it finished; the index then catches up from the database like any other reader
(following.py). A base of SemanticSearcher (searcher.py), which supplies the models.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence

from papertide.domain.clock import utc_now
from papertide.search.semantic.embedder import embed_papers
from papertide.search.semantic.following import ReplicaFollower
from papertide.search.semantic.model import Embedder
from papertide.search.semantic.vectors import (
    ModelMismatch,
    PaperToEmbed,
    VectorSpace,
    check_space,
    fetch_papers_by_id,
    fetch_papers_to_embed,
    write_current_seq,
    write_space,
    write_vectors,
)
from papertide.store.engine import begin_write

log = logging.getLogger(__name__)
Progress = Callable[[int], None]

# Papers embedded and written per transaction: an interrupted run keeps what it finished.
PAPERS_PER_BATCH = 256


class VectorWriter(ReplicaFollower, ABC):
    """Embeds papers and writes their vectors; the index follows from the database."""

    batch_size: int

    @property
    @abstractmethod
    def document_embedder(self) -> Embedder:
        """The model that embeds papers."""

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
        # A graph snapshot of an earlier version is written again with its inverted lists (lists.py).
        if self.index is not None and (self.index.unsaved or self.index.lacks_lists):
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
