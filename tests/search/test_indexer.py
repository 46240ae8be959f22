"""The write side: ingestion hooks sync the lexical index at once and embed small batches; index / reindex."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import Engine

from papertide.config import Settings
from papertide.domain.errors import PapertideError
from papertide.search.changes import fetch_max_seq
from papertide.search.indexer import SearchIndexer
from papertide.search.lexical.index import LexicalIndex
from papertide.search.request import SearchRequest
from papertide.services import Services
from papertide.store.engine import begin_write
from papertide.store.topic_vectors import read_topic_vectors, topic_vector_key, write_topic_vectors
from tests.search.search_corpus import THEMED, FakeSemantic, Paper, paper_ids, store

NOW = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)


class RecordingSemantic(FakeSemantic):
    """Remembers what it was asked to embed."""

    def __init__(self) -> None:
        super().__init__({})
        self.embedded: list[list[int]] = []
        self.synced = 0
        self.rebuilt = 0

    def index_papers(self, paper_ids: Sequence[int], on_progress: object = None) -> int:
        self.embedded.append(sorted(paper_ids))
        return len(paper_ids)

    def sync(self, on_progress: object = None) -> int:
        self.synced += 1
        return 7

    def rebuild(self, on_progress: object = None) -> int:
        self.rebuilt += 1
        return 9


def make_indexer(engine: Engine, index_dir: Path, semantic: FakeSemantic | None, limit: int = 3) -> SearchIndexer:
    lexical = LexicalIndex(engine, index_dir)
    lexical.open()
    loader = (lambda: semantic) if semantic is not None else None
    return SearchIndexer(lexical, loader, embed_batch_limit=limit)


def test_a_small_batch_is_searchable_by_words_and_embedded_at_once(themed_engine: Engine, index_dir: Path) -> None:
    semantic = RecordingSemantic()
    indexer = make_indexer(themed_engine, index_dir, semantic)
    report = store(themed_engine, Paper(arxiv_id="2506.00006", title="Turbulence closures", abstract="Eddies."))
    result = indexer.index_changed(report.changed_ids)
    assert result.lexical == 1 and result.semantic == 1
    assert semantic.embedded == [list(report.changed_ids)]
    assert indexer.lexical.paper_count == len(THEMED) + 1


def test_a_bulk_batch_is_searchable_by_words_and_left_to_papertide_index(
    themed_engine: Engine, index_dir: Path
) -> None:
    semantic = RecordingSemantic()
    indexer = make_indexer(themed_engine, index_dir, semantic, limit=1)
    report = store(
        themed_engine,
        Paper(arxiv_id="2506.00006", title="Turbulence closures", abstract="Eddies."),
        Paper(arxiv_id="2506.00007", title="Vortex shedding", abstract="Wakes."),
    )
    result = indexer.index_changed(report.changed_ids)
    assert result.lexical == 2 and result.semantic is None
    assert "run `papertide index`" in result.note
    assert semantic.embedded == []


def test_without_a_model_ingestion_still_indexes_words(themed_sqlite: Engine, index_dir: Path) -> None:
    lexical = LexicalIndex(themed_sqlite, index_dir)
    lexical.open()

    def missing() -> FakeSemantic:
        raise PapertideError("model 'nope' not found")

    indexer = SearchIndexer(lexical, missing)
    report = store(themed_sqlite, Paper(arxiv_id="2506.00006", title="Turbulence closures", abstract="Eddies."))
    result = indexer.index_changed(report.changed_ids)
    assert result.lexical == 1 and result.semantic is None
    assert result.note == "not embedded: model 'nope' not found"


def test_catch_up_and_reindex_run_both_indexes(themed_sqlite: Engine, index_dir: Path) -> None:
    semantic = RecordingSemantic()
    indexer = make_indexer(themed_sqlite, index_dir, semantic)
    store(themed_sqlite, Paper(arxiv_id="2506.00006", title="Turbulence closures", abstract="Eddies."))
    advanced: list[int] = []
    caught_up = indexer.catch_up_lexical(advanced.append)
    assert caught_up == 1 and sum(advanced) == 1
    report = indexer.catch_up()
    assert (report.lexical, report.semantic) == (0, 7)
    with begin_write(themed_sqlite) as conn:
        write_topic_vectors(conn, "s" * 64, {topic_vector_key("turbulence"): b"\0" * 8}, NOW)
    rebuilt = indexer.reindex()
    assert (rebuilt.lexical, rebuilt.semantic) == (len(THEMED) + 1, 9)
    with themed_sqlite.connect() as conn:
        assert read_topic_vectors(conn, "s" * 64, [topic_vector_key("turbulence")]) == {}, "a model may have changed"
    assert semantic.rebuilt == 1
    assert rebuilt.summary() == f"lexical index: {len(THEMED) + 1} papers applied; embedded: 9"


def test_the_services_index_hook_makes_new_papers_searchable_at_once(themed_sqlite: Engine, data_dir: Path) -> None:
    settings = Settings(
        data_dir=data_dir,
        database_url=themed_sqlite.url.render_as_string(hide_password=False),
        secret_key="test-secret-key-not-for-production",  # type: ignore[arg-type]
    )
    services = Services(settings)
    service = services.search
    assert service.search(SearchRequest(text="turbulence", mode="lexical")).hits == []
    report = store(themed_sqlite, Paper(arxiv_id="2506.00006", title="Turbulence closures", abstract="Eddies."))
    services.index_changed(report.changed_ids)
    assert service.lexical.applied_seq == max_seq(themed_sqlite)
    page = service.search(SearchRequest(text="turbulence", mode="lexical"))
    assert [hit.paper_id for hit in page.hits] == [paper_ids(themed_sqlite)["2506.00006"]]


def max_seq(engine: Engine) -> int:
    with engine.connect() as conn:
        return fetch_max_seq(conn)
