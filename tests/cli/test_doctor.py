"""`papertide doctor` checks what its help says: indexes readable and caught up, model, and names its checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from papertide.search.lexical.index import directory_for
from papertide.search.semantic.model import resolve_model
from papertide.search.semantic.searcher import open_semantic, vector_directory_for
from papertide.store.engine import make_engine
from tests.cli_runner import run_papertide
from tests.corpus import SMALL_CORPUS
from tests.search.hashing_embedder import HashingEmbedder

QUIET = {"PAPERTIDE_SEARCH_EMBED_BATCH_LIMIT": "0"}
# The model check loads (and on a fresh data directory exports) the real model: tested apart.
SKIP = ("--skip", "model", "--skip", "mail")


def doctor(data_dir: Path, *args: str) -> tuple[int, dict[str, str]]:
    """Exit code and each check's line."""
    result = run_papertide(data_dir, "doctor", *args, COLUMNS="400", **QUIET)
    lines = {}
    for line in result.stdout.splitlines():
        status, name, detail = line.split(maxsplit=2)
        lines[name] = f"{status} {detail}"
    return result.exit_code, lines


@pytest.fixture
def loaded(tmp_path: Path) -> Path:
    """A data directory with the small corpus, its word index and vectors of the configured model's name."""
    data_dir = tmp_path / "data"
    assert run_papertide(data_dir, "ingest", "jsonl", str(SMALL_CORPUS), **QUIET).exit_code == 0
    engine = make_engine(f"sqlite:///{data_dir / 'papertide.db'}")
    embedder = HashingEmbedder(name=resolve_model("sentence-transformers/all-MiniLM-L6-v2").name, dim=384)
    searcher = open_semantic(
        engine, vector_directory_for(data_dir), model=embedder.name, backend="test", embedder=embedder
    )
    searcher.sync()
    engine.dispose()
    return data_dir


def test_a_healthy_instance_passes_every_check(loaded: Path) -> None:
    code, checks = doctor(loaded, *SKIP)
    assert code == 0, checks
    assert set(checks) >= {"database", "data-dir", "lexical-index", "vector-index"}
    assert [name for name, line in checks.items() if not line.startswith("ok")] == ["model", "mail"]


def test_a_zero_byte_vector_snapshot_fails_the_vector_check(loaded: Path) -> None:
    folder = vector_directory_for(loaded)
    current = folder / json.loads((folder / "current.json").read_text())["snapshot"]
    (current / "ids.npy").write_bytes(b"")
    code, checks = doctor(loaded, *SKIP)
    assert code == 1
    assert checks["vector-index"].startswith("failed") and "cannot be read" in checks["vector-index"]


def test_papers_without_vectors_fail_the_vector_check(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    assert run_papertide(data_dir, "ingest", "jsonl", str(SMALL_CORPUS), **QUIET).exit_code == 0
    code, checks = doctor(data_dir, *SKIP)
    assert code == 1
    assert "48 of 48 papers have no current vector" in checks["vector-index"]
    assert checks["lexical-index"].startswith("ok")


def test_an_unreadable_or_outdated_word_index_fails_the_lexical_check(loaded: Path) -> None:
    (directory_for(loaded) / "meta.json").write_bytes(b"")
    code, checks = doctor(loaded, *SKIP)
    assert code == 1
    assert checks["lexical-index"].startswith("failed") and "cannot be read" in checks["lexical-index"]


def test_an_unknown_skip_is_an_error_listing_the_checks(tmp_path: Path) -> None:
    result = run_papertide(tmp_path / "data", "doctor", "--skip", "indexes")
    message = " ".join(result.stderr.split())
    assert result.exit_code == 2
    assert "unknown check 'indexes'" in message
    assert "database, data-dir, lexical-index, vector-index, model, mail" in message


def test_a_model_that_cannot_load_fails_the_model_check(tmp_path: Path) -> None:
    result = run_papertide(
        tmp_path / "data",
        "doctor",
        "--skip",
        "mail",
        PAPERTIDE_EMBEDDING_MODEL=str(tmp_path / "no-such-model"),
        COLUMNS="400",
    )
    lines = {line.split(maxsplit=2)[1]: line for line in result.stdout.splitlines()}
    assert result.exit_code == 1
    assert lines["model"].startswith("failed") and "no-such-model" in lines["model"]
