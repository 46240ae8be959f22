"""The `papertide` command end to end, through the console entry point."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.corpus import SMALL_CORPUS

FIRST = json.loads(SMALL_CORPUS.read_text(encoding="utf-8").splitlines()[0])


def papertide(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PAPERTIDE_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1"}
    env.pop("PAPERTIDE_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "papertide", *args], env=env, capture_output=True, text=True, timeout=600
    )


@pytest.fixture
def loaded_dir(tmp_path: Path) -> Path:
    data_dir = tmp_path / "data"
    result = papertide(data_dir, "ingest", "jsonl", str(SMALL_CORPUS))
    assert result.returncode == 0, result.stderr
    return data_dir


def test_ingest_jsonl_reports_counts_and_exit_codes(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = papertide(data_dir, "ingest", "jsonl", str(SMALL_CORPUS))
    second = papertide(data_dir, "ingest", "jsonl", str(SMALL_CORPUS))
    assert first.returncode == 0, first.stderr
    assert "new 48" in first.stderr
    assert second.returncode == 3
    assert "unchanged 48" in second.stderr


def test_ingest_jsonl_names_a_missing_file(tmp_path: Path) -> None:
    result = papertide(tmp_path / "data", "ingest", "jsonl", str(tmp_path / "nope.jsonl"))
    assert result.returncode == 1
    assert "nope.jsonl" in result.stderr


def test_ingest_jsonl_reports_bad_lines_with_their_numbers(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    path.write_text(SMALL_CORPUS.read_text(encoding="utf-8").splitlines()[0] + "\n{broken\n", encoding="utf-8")
    result = papertide(tmp_path / "data", "ingest", "jsonl", str(path))
    assert result.returncode == 0
    assert "mixed.jsonl:2" in result.stderr
    assert "skipped 1" in result.stderr


def test_search_json_prints_hits_with_id_title_and_score(loaded_dir: Path) -> None:
    word = FIRST["title"].split()[0].strip(":,")
    result = papertide(loaded_dir, "search", word, "--json", "--limit", "5")
    hits = json.loads(result.stdout)
    assert result.returncode == 0, result.stderr
    assert 1 <= len(hits) <= 5
    assert {"arxiv_id", "title", "score"} <= set(hits[0])
    assert FIRST["arxiv_id"] in [hit["arxiv_id"] for hit in hits]


def test_serve_get_fetches_a_page_in_process(loaded_dir: Path) -> None:
    ok = papertide(loaded_dir, "serve", "--get", f"/papers/{FIRST['arxiv_id']}")
    missing = papertide(loaded_dir, "serve", "--get", "/papers/2501.99999")
    assert ok.returncode == 0 and FIRST["title"] in ok.stdout
    assert missing.returncode == 1


def test_init_sample_loads_the_bundled_corpus_once(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = papertide(data_dir, "init", "--sample")
    second = papertide(data_dir, "init", "--sample")
    assert first.returncode == 0, first.stderr
    assert "new 4000" in first.stderr
    assert "already stored" in second.stderr
