"""Papers are embedded by the bulk backend and queries by the query backend, into one vector space (issue 13)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine

from papertide.search.semantic.backends import Capabilities
from papertide.search.semantic.embedder import embed_papers, load_embedder
from papertide.search.semantic.model import DEFAULT_MODEL, Embedder
from papertide.search.semantic.searcher import SemanticSearcher, open_semantic
from papertide.search.semantic.vectors import VectorSpace, iter_vectors
from tests.search.search_corpus import THEMED, paper_ids

PLAIN_CPU = Capabilities(cpu_flags=frozenset({"avx2"}), cuda=False)


def searcher_for(engine: Engine, tmp_path: Path, onnx_cache: Path, bulk_backend: str) -> SemanticSearcher:
    return open_semantic(
        engine,
        tmp_path / "vectors",
        model=DEFAULT_MODEL,
        backend="onnx",
        cache_dir=onnx_cache,
        threads=2,
        bulk_backend=bulk_backend,
        capabilities=PLAIN_CPU,
    )


@pytest.mark.slow
def test_papers_are_stored_with_the_bulk_backends_vectors_and_found_by_float32_queries(
    themed_sqlite: Engine, tmp_path: Path, onnx_cache: Path, onnx_embedder: Embedder
) -> None:
    searcher = searcher_for(themed_sqlite, tmp_path, onnx_cache, "onnx-int8")
    assert searcher.sync() == len(THEMED)
    assert (searcher.document_embedder.backend, searcher.embedder.backend) == ("onnx-int8", "onnx")
    space = VectorSpace(DEFAULT_MODEL, onnx_embedder.dim)
    ((ids, stored, _),) = list(iter_vectors(themed_sqlite, space, 0))
    by_id = {paper_id: vector for paper_id, vector in zip(ids.tolist(), stored, strict=True)}
    ordered = np.stack([by_id[paper_ids(themed_sqlite)[paper.arxiv_id]] for paper in THEMED])
    texts = [(paper.title, paper.abstract) for paper in THEMED]
    int8 = embed_papers(load_embedder(DEFAULT_MODEL, "onnx-int8", onnx_cache, threads=2), texts)
    float32 = embed_papers(onnx_embedder, texts)
    assert np.min(np.sum(ordered * int8, axis=1)) > 0.99999
    assert np.min(np.sum(ordered * float32, axis=1)) < 0.9999
    (top, *_) = searcher.search("protein structure prediction", 3)
    assert top.paper_id == paper_ids(themed_sqlite)["2504.00004"]


@pytest.mark.slow
def test_when_the_bulk_choice_is_the_query_backend_one_model_serves_both(
    themed_sqlite: Engine, tmp_path: Path, onnx_cache: Path
) -> None:
    searcher = searcher_for(themed_sqlite, tmp_path, onnx_cache, "onnx")
    assert searcher.bulk_choice.backend == "onnx"
    assert searcher.document_embedder is searcher.embedder
