"""Fixtures of the search tests: a themed corpus in both databases and an index directory."""

from __future__ import annotations

from pathlib import Path

import pytest
from search_corpus import THEMED, store
from sqlalchemy import Engine


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
