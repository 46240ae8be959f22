"""Test data shared by every test directory: the small corpus and ../shared/data.

A plain module rather than conftest.py, because several directories have their own conftest.py
and `from conftest import ...` would then be ambiguous.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import Engine

from papertide.ingest.jsonl import read_jsonl_papers
from papertide.ingest.pipeline import run_ingest

TESTS_DIR = Path(__file__).parent
DATA_DIR = TESTS_DIR / "data"
SHARED_DATA = TESTS_DIR.parent.parent / "shared" / "data"
SMALL_CORPUS = DATA_DIR / "papers_small.jsonl"
FIXED_NOW = dt.datetime(2026, 8, 21, 12, 0, tzinfo=dt.UTC)


def shared_data(*parts: str) -> Path:
    """A file of ../shared/data; the test is skipped only when the whole folder is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not SHARED_DATA.exists():
        pytest.skip("../shared/data is not laid out beside the repository")
    return path


def load_small_corpus(engine: Engine) -> None:
    """Store tests/data/papers_small.jsonl."""
    with SMALL_CORPUS.open("rb") as handle:
        report = run_ingest(engine, "jsonl", read_jsonl_papers(handle, SMALL_CORPUS.name))
    assert report.new > 0 and report.skipped == 0
