"""Fixtures of the search tests: a themed corpus in both databases and an index directory."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from papertide.search.semantic.embedder import load_embedder
from papertide.search.semantic.model import DEFAULT_MODEL, Embedder
from tests.search.search_corpus import THEMED, store


@pytest.fixture
def themed_engine(engine: Engine) -> Engine:
    """A fresh database (both dialects) holding the themed corpus."""
    store(engine, *THEMED)
    return engine


@pytest.fixture
def themed_sqlite(sqlite_engine: Engine) -> Engine:
    """A fresh SQLite database holding the themed corpus, for tests of ranking behaviour."""
    store(sqlite_engine, *THEMED)
    return sqlite_engine


@pytest.fixture
def index_dir(tmp_path: Path) -> Path:
    """Where a test's lexical index lives."""
    return tmp_path / "index" / "lexical"


@pytest.fixture(scope="session")
def onnx_embedder(onnx_cache: Path) -> Embedder:
    """The bundled all-MiniLM-L6-v2 on ONNX Runtime, loaded once per test session."""
    return load_embedder(DEFAULT_MODEL, "onnx", onnx_cache, threads=2)
