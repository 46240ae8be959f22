"""Precomputed vectors: imported only where model and text match; the bundled file fits the bundled sample."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from papertide.cli import app
from papertide.ingest.jsonl import read_jsonl_papers
from papertide.ingest.pipeline import run_ingest
from papertide.ingest.sample import open_sample, sample_name
from papertide.search.semantic.embedder import embed_papers
from papertide.search.semantic.model import DEFAULT_MODEL
from papertide.search.semantic.passages import PASSAGE_SCHEME, compose_text_hash
from papertide.search.semantic.sample import (
    PrecomputedVectors,
    import_precomputed,
    read_precomputed,
    sample_vectors_file,
    write_precomputed,
)
from papertide.search.semantic.searcher import open_semantic, vector_directory_for
from papertide.search.semantic.vectors import VectorSpace
from papertide.store.engine import make_engine
from papertide.store.schema import papers
from tests.search.hashing_embedder import HashingEmbedder
from tests.search.search_corpus import THEMED, store


def precompute(embedder: HashingEmbedder, space: VectorSpace) -> PrecomputedVectors:
    vectors = embed_papers(embedder, [(p.title, p.abstract) for p in THEMED])
    return PrecomputedVectors(
        space=space,
        keys=np.array([p.arxiv_id for p in THEMED]),
        hashes=np.array([compose_text_hash(p.title, p.abstract) for p in THEMED]),
        vectors=vectors.astype(np.float16),
    )


def test_precomputed_vectors_replace_an_embedding_run(themed_sqlite: Engine, tmp_path: Path) -> None:
    embedder = HashingEmbedder()
    path = tmp_path / "vectors.npz"
    write_precomputed(path, precompute(HashingEmbedder(), VectorSpace(embedder.name, embedder.dim)))
    store(themed_sqlite, dataclasses.replace(THEMED[0], abstract="Changed since the vectors were computed."))
    searcher = open_semantic(
        themed_sqlite, tmp_path / "vectors", model=embedder.name, backend="test", embedder=embedder
    )
    assert import_precomputed(searcher, read_precomputed(path)) == len(THEMED) - 1
    assert embedder.embedded == 0
    assert searcher.pending() == 1
    assert searcher.sync() == 1
    assert len(searcher.search("theory of mind", 10)) == len(THEMED)


def test_precomputed_vectors_of_another_model_are_not_imported(themed_sqlite: Engine, tmp_path: Path) -> None:
    embedder = HashingEmbedder()
    searcher = open_semantic(
        themed_sqlite, tmp_path / "vectors", model=embedder.name, backend="test", embedder=embedder
    )
    other = precompute(HashingEmbedder(), VectorSpace("test/other", embedder.dim))
    assert import_precomputed(searcher, other) == 0
    assert searcher.pending() == len(THEMED)


def test_the_bundled_vectors_cover_the_bundled_sample_as_ingested(sqlite_engine: Engine) -> None:
    bundled = sample_vectors_file()
    if bundled is None:
        pytest.fail("src/papertide/data/sample_vectors.npz is missing: run scripts/make_sample_vectors.py")
    precomputed = read_precomputed(bundled)
    assert precomputed.space == VectorSpace(DEFAULT_MODEL, 384, PASSAGE_SCHEME)
    with open_sample() as handle:
        run_ingest(sqlite_engine, "sample", read_jsonl_papers(handle, sample_name()))
    with sqlite_engine.connect() as conn:
        stored = {
            row.arxiv_id: compose_text_hash(row.title, row.abstract)
            for row in conn.execute(select(papers.c.arxiv_id, papers.c.title, papers.c.abstract))
        }
    # A change to how ingestion normalises text shows up here: regenerate the file then.
    assert dict(zip(precomputed.keys.tolist(), precomputed.hashes.tolist(), strict=True)) == stored
    norms = np.linalg.norm(precomputed.vectors.astype(np.float32), axis=1)
    np.testing.assert_allclose(norms, 1.0, atol=2e-3)


@pytest.mark.slow
def test_init_sample_makes_the_sample_searchable_by_meaning_without_embedding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / "data"
    monkeypatch.setenv("PAPERTIDE_DATA_DIR", str(data_dir))
    # The torch backend needs no ONNX export, so the model is ready in a second.
    monkeypatch.setenv("PAPERTIDE_EMBEDDING_BACKEND", "torch")
    result = CliRunner().invoke(app, ["init", "--sample"])
    assert result.exit_code == 0, result.output
    assert "stored 4000 precomputed vectors" in " ".join(result.output.split())
    engine = make_engine(f"sqlite:///{data_dir / 'papertide.db'}")
    searcher = open_semantic(engine, vector_directory_for(data_dir), model=DEFAULT_MODEL, backend="torch")
    assert searcher.pending() == 0
    assert len(searcher.index or ()) == 4000
    hits = searcher.search("diffusion models that generate images", 5)
    assert len(hits) == 5 and hits[0].score > 0.4
    engine.dispose()
