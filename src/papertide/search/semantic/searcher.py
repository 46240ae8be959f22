"""Semantic search: papers and queries embedded by one model, nearest neighbours by cosine.

The ``paper_vectors`` table is the truth (vectors.py); the vector index beside the
database is a cache: a snapshot (snapshot.py) memory-mapped and shared by the processes of the
host, plus an in-memory delta caught up by ``change_seq`` before every search, so vectors
written by another process (an ingest job, another web worker, another host) are found at
once (replica.py). One process per host, elected by a lock file (election.py), writes the
snapshots; the others move to each new one when the pointer file changes (issue 14): that is
following.py, and embedding papers into the table is writing.py, both bases of the searcher. The
embedding model is loaded on first use: opening a searcher to find similar papers never loads
it. Papers are embedded by the bulk backend (backends.py: the fastest that keeps quality on this
machine, issue 13) and queries by the configured backend; both are the same model, so their
vectors share one space.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
from sqlalchemy import Engine

from papertide.domain.models import Hit
from papertide.search.ranked import Ranked
from papertide.search.semantic.backends import AUTO, BulkChoice, Capabilities, fetch_capabilities, select_bulk_backend
from papertide.search.semantic.embedder import load_embedder
from papertide.search.semantic.index import IndexConfig
from papertide.search.semantic.model import Embedder, resolve_model
from papertide.search.semantic.passages import Vectors
from papertide.search.semantic.query_vectors import QueryVectorCache
from papertide.search.semantic.vectors import ModelMismatch, VectorSpace, fetch_pending_count
from papertide.search.semantic.writing import VectorWriter

log = logging.getLogger(__name__)


def vector_directory_for(data_dir: Path) -> Path:
    """Where the vector index lives under the data directory."""
    return data_dir / "search" / "vectors"


def model_cache_for(data_dir: Path) -> Path:
    """Where locally exported ONNX models are cached."""
    return data_dir / "models"


class SemanticSearcher(VectorWriter):
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
        model_name = embedder.name if embedder is not None else resolve_model(model).name
        super().__init__(
            engine, index_dir, index_config or IndexConfig(), VectorSpace(model_name, embedder.dim if embedder else 0)
        )
        self.backend = backend
        self.cache_dir = cache_dir
        self.batch_size = batch_size
        self.threads = threads
        self._model = model
        self._embedder = embedder
        self.bulk_backend = bulk_backend
        self._capabilities = capabilities
        self._bulk_choice: BulkChoice | None = None
        self._document_embedder = embedder
        # An embedder handed in (tests, a model already loaded) embeds queries and papers alike.
        self._injected = embedder
        self.query_vectors = QueryVectorCache(query_cache_size)

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

    # --- reading ----------------------------------------------------------------------------

    def search(self, query: str, k: int, candidates: Collection[int] | None = None) -> list[Hit]:
        """The ``k`` papers nearest in meaning to ``query`` (cosine), among ``candidates`` when given."""
        return [Hit(paper_id=paper_id, score=score) for paper_id, score in self.rank(query, k, candidates).pairs()]

    def rank(self, query: str, k: int, candidates: Collection[int] | None = None) -> Ranked:
        """``search`` as arrays of ids and scores, best first: no object per neighbour (issue 13)."""
        self.check()
        vector = self.embed_query(query)
        self.refresh()
        with self._lock:
            if self.index is None:
                return Ranked.empty()
            return self.index.nearest(vector, k, candidates)

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
