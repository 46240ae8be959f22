"""`papertide ingest ...` end to end through the console entry point, against a local server."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ingest.ingest_server import Answer, FeedServer, fixture_bytes, fixture_path, oai_page, running_server


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with running_server() as running:
        yield running


def papertide(data_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "PAPERTIDE_DATA_DIR": str(data_dir),
        "PAPERTIDE_INGEST_REQUEST_SPACING_S": "0",
        "PAPERTIDE_INGEST_BACKOFF_S": "0",
        "HF_HUB_OFFLINE": "1",
        # Keep the embedding model out of these runs: words are indexed, meaning waits for `index`.
        "PAPERTIDE_SEARCH_EMBED_BATCH_LIMIT": "0",
        **env,
    }
    environment.pop("PAPERTIDE_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "papertide", "ingest", *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_hf_daily_exits_0_with_new_papers_then_3_when_nothing_is_new(tmp_path: Path, server: FeedServer) -> None:
    url = server.route("/api/daily_papers", Answer(fixture_bytes("hf_daily_papers.json")))
    first = papertide(tmp_path, "hf-daily", "--date", "2024-10-25", PAPERTIDE_INGEST_HF_DAILY_URL=url)
    second = papertide(tmp_path, "hf-daily", "--date", "2024-10-25", PAPERTIDE_INGEST_HF_DAILY_URL=url)
    assert first.returncode == 0, first.stderr
    assert "hf-daily: fetched 3, new 3, updated 0, unchanged 0, skipped 0, signals 3" in first.stderr
    assert second.returncode == 3, second.stderr
    assert "unchanged 3" in second.stderr
    assert server.requests[0].headers["user-agent"].startswith("papertide")


def test_oai_continues_from_the_last_harvest_and_status_shows_it(tmp_path: Path, server: FeedServer) -> None:
    url = server.route("/oai", Answer(oai_page()))
    first = papertide(tmp_path, "oai", "--set", "cs", "--from", "2015-01-01", PAPERTIDE_INGEST_OAI_URL=url)
    second = papertide(tmp_path, "oai", "--set", "cs", PAPERTIDE_INGEST_OAI_URL=url)
    status = papertide(tmp_path, "status")
    assert first.returncode == 0, first.stderr
    assert second.returncode == 3 and "continuing from 2018-06-21" in second.stderr
    assert server.requests[1].query["from"] == "2018-06-21"
    assert "state oai [cs arXiv] next from 2018-06-21" in status.stdout
    assert "run  oai" in status.stdout


def test_a_truncated_snapshot_exits_1_naming_the_file_and_line(tmp_path: Path) -> None:
    packed = gzip.compress(fixture_path("arxiv_metadata_snapshot.jsonl").read_bytes())
    broken = tmp_path / "arxiv-metadata-oai-snapshot.json.gz"
    broken.write_bytes(packed[: len(packed) // 2])
    result = papertide(tmp_path / "data", "snapshot", str(broken), "--categories", "hep-ph,math.*")
    assert result.returncode == 1
    assert f"{broken}:" in result.stderr and "ends early" in result.stderr
    assert "left out by the filters" in result.stderr


def test_arxiv_api_without_a_query_says_how_to_give_one(tmp_path: Path) -> None:
    result = papertide(tmp_path, "arxiv-api")
    assert result.returncode == 1
    assert "--query" in result.stderr and "PAPERTIDE_INGEST_ARXIV_API_QUERY" in result.stderr
