"""`papertide ingest ...` end to end, in-process (one invocation per call), against a local server."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import Result

from tests.cli_runner import run_papertide
from tests.ingest.ingest_server import Answer, FeedServer, fixture_bytes, fixture_path, oai_page, running_server


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with running_server() as running:
        yield running


def ingest(data_dir: Path, *args: str, **env: str) -> Result:
    """``papertide ingest ARGS`` with no waiting between requests."""
    return run_papertide(
        data_dir,
        "ingest",
        *args,
        PAPERTIDE_INGEST_REQUEST_SPACING_S="0",
        PAPERTIDE_INGEST_BACKOFF_S="0",
        # Keep the embedding model out of these runs: words are indexed, meaning waits for `index`.
        PAPERTIDE_SEARCH_EMBED_BATCH_LIMIT="0",
        **env,
    )


def test_hf_daily_exits_0_with_new_papers_then_3_when_nothing_is_new(tmp_path: Path, server: FeedServer) -> None:
    url = server.route("/api/daily_papers", Answer(fixture_bytes("hf_daily_papers.json")))
    first = ingest(tmp_path, "hf-daily", "--date", "2024-10-25", PAPERTIDE_INGEST_HF_DAILY_URL=url)
    second = ingest(tmp_path, "hf-daily", "--date", "2024-10-25", PAPERTIDE_INGEST_HF_DAILY_URL=url)
    assert first.exit_code == 0, first.stderr
    assert "hf-daily: fetched 3, new 3, updated 0, unchanged 0, skipped 0, signals 3" in first.stderr
    assert second.exit_code == 3, second.stderr
    assert "unchanged 3" in second.stderr
    assert server.requests[0].headers["user-agent"].startswith("papertide")


def test_oai_continues_from_the_last_harvest_and_status_shows_it(tmp_path: Path, server: FeedServer) -> None:
    url = server.route("/oai", Answer(oai_page()))
    first = ingest(tmp_path, "oai", "--set", "cs", "--from", "2015-01-01", PAPERTIDE_INGEST_OAI_URL=url)
    second = ingest(tmp_path, "oai", "--set", "cs", PAPERTIDE_INGEST_OAI_URL=url)
    status = ingest(tmp_path, "status")
    assert first.exit_code == 0, first.stderr
    assert second.exit_code == 3 and "continuing from 2018-06-21" in second.stderr
    assert server.requests[1].query["from"] == "2018-06-21"
    assert "state oai [cs arXiv] next from 2018-06-21" in status.stdout
    assert "run  oai" in status.stdout


def test_a_truncated_snapshot_exits_1_naming_the_file_and_line(tmp_path: Path) -> None:
    packed = gzip.compress(fixture_path("arxiv_metadata_snapshot.jsonl").read_bytes())
    broken = tmp_path / "arxiv-metadata-oai-snapshot.json.gz"
    broken.write_bytes(packed[: len(packed) // 2])
    result = ingest(tmp_path / "data", "snapshot", str(broken), "--categories", "hep-ph,math.*")
    assert result.exit_code == 1
    assert f"{broken}:" in result.stderr and "ends early" in result.stderr
    assert "left out by the filters" in result.stderr


def test_arxiv_api_without_a_query_says_how_to_give_one(tmp_path: Path) -> None:
    result = ingest(tmp_path, "arxiv-api")
    assert result.exit_code == 1
    assert "--query" in result.stderr and "PAPERTIDE_INGEST_ARXIV_API_QUERY" in result.stderr
