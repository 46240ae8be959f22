"""SemanticSearcher: embedding papers into the database, keeping the index in step, searching."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from pathlib import Path

import pytest
from sqlalchemy import Engine

from papertide.search.semantic.index import IndexConfig
from papertide.search.semantic.model import Embedder
from papertide.search.semantic.searcher import SemanticSearcher, open_semantic
from papertide.search.semantic.vectors import ModelMismatch
from papertide.store.engine import make_engine
from papertide.store.migrate import upgrade_database
from tests.search.hashing_embedder import HashingEmbedder
from tests.search.search_corpus import THEMED, paper_ids, store


def open_with(engine: Engine, index_dir: Path, embedder: Embedder, **options: object) -> SemanticSearcher:
    return open_semantic(engine, index_dir, model=embedder.name, backend="test", embedder=embedder, **options)  # type: ignore[arg-type]


@pytest.fixture
def vector_dir(tmp_path: Path) -> Path:
    return tmp_path / "search" / "vectors"


def test_sync_embeds_every_paper_once(themed_engine: Engine, vector_dir: Path) -> None:
    embedder = HashingEmbedder()
    searcher = open_with(themed_engine, vector_dir, embedder)
    assert searcher.pending() == len(THEMED)
    progress: list[int] = []
    assert searcher.sync(progress.append) == len(THEMED)
    assert sum(progress) == len(THEMED)
    assert searcher.pending() == 0
    embedded = embedder.embedded
    assert searcher.sync() == 0
    assert embedder.embedded == embedded


def test_search_ranks_by_cosine_and_respects_candidates(themed_engine: Engine, vector_dir: Path) -> None:
    searcher = open_with(themed_engine, vector_dir, HashingEmbedder())
    searcher.sync()
    ids = paper_ids(themed_engine)
    hits = searcher.search("theory of mind false belief language models", 3)
    assert hits[0].paper_id == ids["2503.00003"]
    assert hits[0].score > hits[1].score >= hits[2].score
    assert -1.0 <= hits[-1].score <= 1.0
    allowed = {ids["2501.00001"], ids["2505.00005"]}
    assert {hit.paper_id for hit in searcher.search("theory of mind", 5, candidates=allowed)} == allowed


def test_searching_the_same_text_again_does_not_run_the_model_again(themed_engine: Engine, vector_dir: Path) -> None:
    embedder = HashingEmbedder()
    searcher = open_with(themed_engine, vector_dir, embedder)
    searcher.sync()
    first = searcher.search("theory of mind", 3)
    assert embedder.queries == 1
    assert searcher.search("theory of mind", 3) == first
    assert searcher.search("theory of mind", 5, candidates=set(paper_ids(themed_engine).values()))
    assert embedder.queries == 1
    searcher.search("protein folding", 3)
    assert embedder.queries == 2


def test_the_query_vector_cache_keeps_only_the_most_recent_texts(themed_sqlite: Engine, vector_dir: Path) -> None:
    embedder = HashingEmbedder()
    searcher = open_with(themed_sqlite, vector_dir, embedder, query_cache_size=2)
    searcher.sync()
    for text in ("chaos", "mind", "chaos", "protein", "mind", "chaos"):
        searcher.search(text, 2)
    # chaos, mind (2) / chaos kept / protein drops mind (3) / mind drops chaos (4) / chaos (5)
    assert embedder.queries == 5
    assert len(searcher.query_vectors) == 2


def test_without_a_query_vector_cache_every_search_runs_the_model(themed_sqlite: Engine, vector_dir: Path) -> None:
    embedder = HashingEmbedder()
    searcher = open_with(themed_sqlite, vector_dir, embedder, query_cache_size=0)
    searcher.sync()
    searcher.search("chaos", 2)
    searcher.search("chaos", 2)
    assert embedder.queries == 2


def test_the_next_page_of_a_hybrid_search_reuses_the_query_embedding(
    themed_sqlite: Engine, vector_dir: Path, tmp_path: Path
) -> None:
    from papertide.search.lexical.index import LexicalIndex
    from papertide.search.query import SearchService
    from papertide.search.request import SearchRequest

    embedder = HashingEmbedder()
    searcher = open_with(themed_sqlite, vector_dir, embedder)
    searcher.sync()
    lexical = LexicalIndex(themed_sqlite, tmp_path / "lexical")
    lexical.open()
    service = SearchService(themed_sqlite, lexical, lambda: searcher)
    first = service.search(SearchRequest(text="learning models", per_page=2))
    second = service.search(SearchRequest(text="learning models", per_page=2, page=2))
    assert first.hits and second.hits and first.hits != second.hits
    assert embedder.queries == 1


def test_similar_papers_exclude_the_paper_itself(themed_engine: Engine, vector_dir: Path) -> None:
    searcher = open_with(themed_engine, vector_dir, HashingEmbedder())
    searcher.sync()
    target = paper_ids(themed_engine)["2501.00001"]
    hits = searcher.similar(target, 3)
    assert len(hits) == 3 and target not in {hit.paper_id for hit in hits}
    assert searcher.similar(10_000, 3) == []


def test_only_papers_whose_text_changed_are_embedded_again(themed_engine: Engine, vector_dir: Path) -> None:
    embedder = HashingEmbedder()
    searcher = open_with(themed_engine, vector_dir, embedder)
    searcher.sync()
    before = embedder.embedded
    report = store(
        themed_engine,
        dataclasses.replace(THEMED[0], external_upvotes=99),
        dataclasses.replace(THEMED[3], abstract="Turbulence closures learned from data."),
    )
    assert searcher.index_papers(list(report.changed_ids)) == 1
    assert embedder.embedded == before + 1
    assert searcher.pending() == 0
    assert searcher.search("turbulence closures", 1)[0].paper_id == paper_ids(themed_engine)["2504.00004"]


def test_vectors_written_by_another_process_are_searchable_at_once(themed_engine: Engine, vector_dir: Path) -> None:
    reader = open_with(themed_engine, vector_dir, HashingEmbedder())
    assert reader.search("chaotic dynamics", 5) == []
    writer = open_with(themed_engine, vector_dir, HashingEmbedder())
    writer.sync()
    assert len(reader.search("chaotic dynamics", 5)) == len(THEMED)


def test_a_restart_loads_the_saved_index_and_catches_up(themed_engine: Engine, vector_dir: Path) -> None:
    first = open_with(themed_engine, vector_dir, HashingEmbedder())
    first.sync()
    saved = first.applied
    late = dataclasses.replace(THEMED[0], arxiv_id="2509.00009", title="Late paper on turbulence")
    report = store(themed_engine, late)
    first.index_papers(list(report.changed_ids))
    assert first.applied > saved
    restarted = open_with(themed_engine, vector_dir, HashingEmbedder())
    assert restarted.applied == first.applied
    assert len(restarted.index or ()) == len(THEMED) + 1
    assert restarted.search("late paper turbulence", 1)[0].paper_id == paper_ids(themed_engine)["2509.00009"]


def test_an_index_saved_for_another_database_is_not_used(
    themed_sqlite: Engine, vector_dir: Path, tmp_path: Path
) -> None:
    open_with(themed_sqlite, vector_dir, HashingEmbedder()).sync()
    other = make_engine(f"sqlite:///{tmp_path / 'other.db'}")
    upgrade_database(other)
    store(other, THEMED[0])
    copied = tmp_path / "copied"
    shutil.copytree(vector_dir, copied)
    searcher = open_with(other, copied, HashingEmbedder())
    assert len(searcher.index or ()) == 0
    assert searcher.search("chaotic", 5) == []


def test_another_model_is_refused_until_reindex(themed_engine: Engine, vector_dir: Path) -> None:
    open_with(themed_engine, vector_dir, HashingEmbedder()).sync()
    replacement = HashingEmbedder(name="test/other", dim=32)
    with pytest.raises(ModelMismatch, match="papertide reindex"):
        open_with(themed_engine, vector_dir, replacement)
    searcher = open_with(themed_engine, vector_dir, replacement, allow_mismatch=True)
    with pytest.raises(ModelMismatch):
        searcher.search("chaotic dynamics", 3)
    assert searcher.index_papers(list(paper_ids(themed_engine).values())) == 0
    assert searcher.rebuild() == len(THEMED)
    reopened = open_with(themed_engine, vector_dir, HashingEmbedder(name="test/other", dim=32))
    assert len(reopened.search("chaotic dynamics", 10)) == len(THEMED)


def test_rebuild_embeds_everything_again(themed_engine: Engine, vector_dir: Path) -> None:
    embedder = HashingEmbedder()
    searcher = open_with(themed_engine, vector_dir, embedder)
    searcher.sync()
    assert searcher.rebuild() == len(THEMED)
    assert embedder.embedded == 2 * len(THEMED)
    assert len(searcher.search("chaotic", 10)) == len(THEMED)


def test_auto_index_switches_to_hnsw_above_the_exact_limit(themed_sqlite: Engine, vector_dir: Path) -> None:
    config = IndexConfig(kind="auto", exact_limit=3)
    searcher = open_with(themed_sqlite, vector_dir, HashingEmbedder(), index_config=config)
    searcher.sync()
    assert searcher.index is not None and searcher.index.kind == "hnsw"
    assert len(searcher.search("chaotic dynamics", 10)) == len(THEMED)


@pytest.mark.slow
def test_the_real_model_finds_papers_by_meaning_without_shared_words(
    themed_sqlite: Engine, vector_dir: Path, onnx_embedder: Embedder
) -> None:
    searcher = open_with(themed_sqlite, vector_dir, onnx_embedder)
    searcher.sync()
    ids = paper_ids(themed_sqlite)
    assert searcher.search("turbulent flows and strange attractors", 1)[0].paper_id == ids["2501.00001"]
    assert searcher.search("do chatbots understand what others believe", 1)[0].paper_id == ids["2503.00003"]
    assert searcher.search("predicting the 3D shape of amino acid chains", 1)[0].paper_id == ids["2504.00004"]


@pytest.mark.parametrize("damaged", ["ids.npy", "vectors.npy", "meta.json"])
@pytest.mark.parametrize("how", ["empty", "garbage"])
def test_a_damaged_snapshot_file_is_rebuilt_from_the_database(
    themed_sqlite: Engine, vector_dir: Path, damaged: str, how: str
) -> None:
    first = open_with(themed_sqlite, vector_dir, HashingEmbedder())
    first.sync()
    expected = first.search("theory of mind", 5)
    current = vector_dir / json.loads((vector_dir / "current.json").read_text())["snapshot"]
    (current / damaged).write_bytes(b"" if how == "empty" else b"\x93NUMPY\x01\x00garbage")
    first.close()  # a restart: the writer is gone
    restarted = open_with(themed_sqlite, vector_dir, HashingEmbedder())
    assert restarted.search("theory of mind", 5) == expected
    assert restarted.maintain()  # the maintenance loop writes the rebuilt index, never a request (issue 14)
    rebuilt = vector_dir / json.loads((vector_dir / "current.json").read_text())["snapshot"]
    assert rebuilt != current
    assert open_with(themed_sqlite, vector_dir, HashingEmbedder()).search("theory of mind", 5) == expected


def test_an_empty_pointer_file_is_rebuilt_from_the_database(themed_sqlite: Engine, vector_dir: Path) -> None:
    first = open_with(themed_sqlite, vector_dir, HashingEmbedder())
    first.sync()
    (vector_dir / "current.json").write_bytes(b"")
    first.close()  # a restart: the writer is gone
    restarted = open_with(themed_sqlite, vector_dir, HashingEmbedder())
    assert len(restarted.search("theory of mind", 50)) == len(THEMED)
    assert restarted.maintain()
    assert json.loads((vector_dir / "current.json").read_text())["snapshot"]


def test_snapshot_files_are_written_through_a_temporary_name(
    themed_sqlite: Engine, vector_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    searcher = open_with(themed_sqlite, vector_dir, HashingEmbedder())
    searcher.sync()
    replaced: list[str] = []
    real_replace = os.replace

    def spy(source: str | Path, target: str | Path) -> None:
        replaced.append(Path(target).name)
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", spy)
    searcher.save()
    assert {"ids.npy", "vectors.npy", "meta.json", "current.json"} <= set(replaced)
