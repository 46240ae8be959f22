"""Write side of search: bring the lexical and semantic indexes up to date with the papers table.

Three entry points, one per situation:
- ``index_changed`` after an ingest batch: the lexical index catches up at once (only the
  changed rows, by the change sequence); the batch is embedded too when it is small enough,
  so a daily ingest is searchable by meaning right away while a bulk load leaves embedding
  to ``catch_up`` (``papertide index``), which shows a progress bar.
- ``catch_up``: apply whatever is pending in both indexes.
- ``reindex``: rebuild both from the database.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import Engine

from papertide.domain.errors import PapertideError
from papertide.search.lexical.index import LexicalIndex, Progress
from papertide.search.request import SemanticRanker
from papertide.search.semantic.backends import BulkChoice
from papertide.store.engine import begin_write
from papertide.store.topic_vectors import delete_all_topic_vectors

log = logging.getLogger(__name__)


class SemanticIndexer(Protocol):
    """What indexing needs of the semantic side (search/semantic/searcher.py, SemanticSearcher)."""

    def index_papers(self, paper_ids: Sequence[int], on_progress: Progress | None = None) -> int:
        """Embed the given papers; returns how many vectors were written."""
        ...

    def sync(self, on_progress: Progress | None = None) -> int:
        """Embed every paper whose vector is missing or stale."""
        ...

    def rebuild(self, on_progress: Progress | None = None) -> int:
        """Embed every paper again and rebuild the vector index."""
        ...

    def pending(self) -> int:
        """How many papers have no current vector."""
        ...

    @property
    def bulk_choice(self) -> BulkChoice:
        """The backend that embeds papers, and why."""
        ...


class SemanticEngine(SemanticRanker, SemanticIndexer, Protocol):
    """The semantic searcher as both sides of search use it (search/semantic/searcher.py, SemanticSearcher)."""


@dataclass(frozen=True, slots=True)
class IndexReport:
    """What an indexing step did; ``semantic`` is None when embedding was skipped (see ``note``)."""

    lexical: int
    semantic: int | None = None
    note: str = ""
    # The semantic side was asked to work and could not (the note says why).
    failed: bool = False

    def summary(self) -> str:
        """One line for a person."""
        parts = [f"lexical index: {self.lexical} papers applied"]
        if self.semantic is not None:
            parts.append(f"embedded: {self.semantic}")
        if self.note:
            parts.append(self.note)
        return "; ".join(parts)


@dataclass(frozen=True, slots=True)
class IndexProgress:
    """Progress callbacks of a long indexing run, one per index."""

    lexical: Progress | None = None
    semantic: Progress | None = None


class SearchIndexer:
    """Keeps the search indexes in step with the database."""

    def __init__(
        self,
        lexical: LexicalIndex,
        load_semantic: Callable[[], SemanticIndexer] | None = None,
        *,
        embed_batch_limit: int = 500,
    ) -> None:
        self.lexical = lexical
        self.embed_batch_limit = embed_batch_limit
        self._load_semantic = load_semantic

    @property
    def engine(self) -> Engine:
        """The database the indexes mirror (bound to the lexical index when it was built)."""
        return self.lexical.engine

    def _semantic(self) -> tuple[SemanticIndexer | None, str]:
        if self._load_semantic is None:
            return None, "semantic search is not configured"
        try:
            return self._load_semantic(), ""
        except (PapertideError, OSError, ImportError) as error:
            return None, f"not embedded: {error}"

    def index_changed(self, paper_ids: Sequence[int]) -> IndexReport:
        """After an ingest batch: sync the lexical index; embed the batch when it is small enough."""
        applied = self.catch_up_lexical()
        if not paper_ids:
            return IndexReport(lexical=applied)
        if len(paper_ids) > self.embed_batch_limit:
            note = (
                f"{len(paper_ids)} papers are more than search_embed_batch_limit={self.embed_batch_limit}: "
                "run `papertide index` to embed them"
            )
            return IndexReport(lexical=applied, note=note)
        semantic, problem = self._semantic()
        if semantic is not None:
            try:
                return IndexReport(lexical=applied, semantic=semantic.index_papers(list(paper_ids)))
            except PapertideError as error:
                # E.g. the stored vectors belong to another model until `papertide reindex`:
                # ingestion goes on, the papers are found by words meanwhile.
                problem = f"not embedded: {error}"
        log.warning("changed papers are searchable by words only: %s", problem)
        return IndexReport(lexical=applied, note=problem)

    def catch_up_lexical(self, on_progress: Progress | None = None) -> int:
        """Apply every changed paper to the lexical index (building it when missing)."""
        before = self.lexical.written
        self.lexical.ensure_open(on_progress)
        self.lexical.sync(on_progress)
        return self.lexical.written - before

    def catch_up_semantic(self, on_progress: Progress | None = None) -> tuple[int | None, str]:
        """Embed papers without a current vector; (None, why) when that cannot be done."""
        semantic, problem = self._semantic()
        if semantic is None:
            return None, problem
        try:
            return semantic.sync(on_progress), ""
        except PapertideError as error:
            return None, f"not embedded: {error}"

    def plan_semantic(self) -> tuple[int | None, str]:
        """Papers waiting for a vector and the backend that will embed them, for a progress bar.

        (None, "") for what cannot be told now; the embedding run itself then says why.
        """
        semantic, _ = self._semantic()
        if semantic is None:
            return None, ""
        try:
            pending: int | None = semantic.pending()
        except PapertideError:
            pending = None
        try:
            return pending, semantic.bulk_choice.backend
        except PapertideError:
            return pending, ""

    def rebuild_lexical(self, on_progress: Progress | None = None) -> int:
        """Index every paper again."""
        self.lexical.ensure_open()
        return self.lexical.rebuild(on_progress)

    def rebuild_semantic(self, on_progress: Progress | None = None) -> tuple[int | None, str]:
        """Embed every paper again and rebuild the vector index; (None, why) when that cannot be done."""
        semantic, problem = self._semantic()
        if semantic is None:
            return None, problem
        try:
            return semantic.rebuild(on_progress), ""
        except PapertideError as error:
            return None, f"not embedded: {error}"

    def catch_up(self, progress: IndexProgress | None = None) -> IndexReport:
        """Apply everything pending: changed rows to the lexical index, missing or stale vectors."""
        progress = progress or IndexProgress()
        applied = self.catch_up_lexical(progress.lexical)
        embedded, problem = self.catch_up_semantic(progress.semantic)
        return IndexReport(lexical=applied, semantic=embedded, note=problem, failed=embedded is None)

    def reindex(self, progress: IndexProgress | None = None) -> IndexReport:
        """Rebuild both indexes from the database (after changing the model or the analyzer)."""
        progress = progress or IndexProgress()
        rebuilt = self.rebuild_lexical(progress.lexical)
        embedded, problem = self.rebuild_semantic(progress.semantic)
        # The digest's stored topic vectors: a model changed under the same name would otherwise keep
        # matching topics by the old model's vectors (store/topic_vectors.py).
        with begin_write(self.engine) as conn:
            delete_all_topic_vectors(conn)
        return IndexReport(lexical=rebuilt, semantic=embedded, note=problem, failed=embedded is None)
