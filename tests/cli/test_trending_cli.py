"""``papertide trending``: the lists of the web pages, in a terminal and as JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from papertide.cli import app
from tests.corpus import load_small_corpus


@pytest.fixture
def runner(sqlite_engine: Engine, sqlite_url: str, data_dir: Path) -> CliRunner:
    """Each invoke is a fresh invocation whose settings come from this environment."""
    load_small_corpus(sqlite_engine)
    return CliRunner(
        env={
            "PAPERTIDE_DATA_DIR": str(data_dir),
            "PAPERTIDE_DATABASE_URL": sqlite_url,
            "PAPERTIDE_BASE_URL": "https://papers.example.org",
            "PAPERTIDE_CONFIG": None,
        }
    )


def test_trending_now_falls_back_to_the_latest_days_and_says_so(runner: CliRunner) -> None:
    result = runner.invoke(app, ["trending", "--now", "2026-11-28T12:00:00+00:00", "--limit", "3"])
    assert result.exit_code == 0, result.output
    assert "latest day with papers" in result.output
    assert result.output.count("▲") == 3


def test_a_week_as_json_has_the_apis_shape(runner: CliRunner) -> None:
    result = runner.invoke(app, ["trending", "--period", "week", "--date", "2026-08-17", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["kind"] == "week" and payload["period"]["key"] == "2026-W34"
    assert payload["previous"]["url"] == "https://papers.example.org/papers/week/2026-W33"
    upvotes = [paper["upvotes"] for paper in payload["papers"]]
    assert upvotes == sorted(upvotes, reverse=True) and len(upvotes) == payload["total"] == 3


def test_a_month_is_listed_by_upvotes(runner: CliRunner) -> None:
    result = runner.invoke(app, ["trending", "-p", "month", "-d", "2026-07", "--json"])
    papers = json.loads(result.stdout)["papers"]
    assert papers[0]["arxiv_id"] == "2607.07820" and papers[0]["upvotes"] == 56


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--period", "week", "--date", "2027-W53"], "2027 has ISO weeks 1 to 52"),
        (["--period", "day", "--date", "2026-02-30"], "not a real day"),
        (["--date", "2026-11-27"], "trending now takes no date"),
        (["--now", "yesterday"], "not an ISO date-time"),
    ],
)
def test_bad_dates_exit_2_with_a_clear_message(runner: CliRunner, arguments: list[str], message: str) -> None:
    result = runner.invoke(app, ["trending", *arguments])
    assert result.exit_code == 2
    assert message in result.output
