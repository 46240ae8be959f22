"""`papertide search / similar / index / reindex` end to end, in-process (one invocation per call).

The embedding model is pointed at a folder that does not exist, so these runs stay fast and
show the words-only paths; hybrid ranking itself is covered in-process by test_hybrid.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import Result

from papertide.store.engine import make_engine
from papertide.store.migrate import upgrade_database
from tests.cli_runner import run_papertide
from tests.search.search_corpus import THEMED, store


def papertide_without_model(data_dir: Path, *args: str) -> Result:
    """``papertide ARGS`` with the embedding model pointed at a folder that does not exist."""
    return run_papertide(data_dir, *args, PAPERTIDE_EMBEDDING_MODEL=str(data_dir / "no-such-model"))


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A data directory whose database holds the themed corpus (no search index yet)."""
    directory = tmp_path / "data"
    engine = make_engine(f"sqlite:///{directory / 'papertide.db'}")
    upgrade_database(engine)
    store(engine, *THEMED)
    engine.dispose()
    return directory


def test_search_prints_json_hits_and_explains_the_plan(data_dir: Path) -> None:
    result = papertide_without_model(data_dir, "search", "chaotic cat:cs", "--json", "--explain", "--limit", "5")
    assert result.exit_code == 0, result.stderr
    hits = [json.loads(line) for line in result.stdout.splitlines()]
    assert [hit["arxiv_id"] for hit in hits] == ["2501.00001", "2502.00002"]
    assert {"arxiv_id", "title", "score", "ranks", "url"} <= set(hits[0])
    assert "query: chaotic cat:cs" in result.stderr
    assert "lexical: text:chaotic title:chaotic^0.3 authors:chaotic +category:(cs)" in result.stderr
    assert "showing word matches only" in result.stderr


def test_search_pages_and_sorts(data_dir: Path) -> None:
    result = papertide_without_model(
        data_dir, "search", "chaotic", "--mode", "lexical", "--sort", "newest", "-n", "1", "--page", "2"
    )
    assert result.exit_code == 0, result.stderr
    assert "2." in result.stdout and "2501.00001" in result.stdout
    assert "more results" not in result.stderr


def test_invalid_syntax_exits_2_with_the_message(data_dir: Path) -> None:
    result = papertide_without_model(data_dir, "search", "since:someday")
    assert result.exit_code == 2
    assert "since: expects a date like 2025-01-01" in result.stderr


def test_similar_falls_back_to_shared_words_without_a_model(data_dir: Path) -> None:
    result = papertide_without_model(data_dir, "similar", "2501.00001", "--json")
    assert result.exit_code == 0, result.stderr
    found = [json.loads(line)["arxiv_id"] for line in result.stdout.splitlines()]
    assert found and "2501.00001" not in found
    missing = papertide_without_model(data_dir, "similar", "2501.99999")
    assert missing.exit_code == 1 and "no paper 2501.99999" in missing.stderr


def test_index_and_reindex_do_the_word_index_and_fail_on_a_missing_model(data_dir: Path) -> None:
    first = papertide_without_model(data_dir, "index")
    again = papertide_without_model(data_dir, "reindex")
    for result in (first, again):
        assert result.exit_code == 1
        assert f"lexical index: {len(THEMED)} papers applied" in result.stderr
        assert "not embedded:" in result.stderr and "no-such-model" in result.stderr
