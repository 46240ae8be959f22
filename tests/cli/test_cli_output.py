"""The CLI for people and programs: help shows flags as flags, pipes get whole cells, one JSON convention,
ingest failures said once and at once (issue 10)."""

from __future__ import annotations

import dataclasses
import json
import socket
from pathlib import Path

import httpx
import pytest

from papertide.ingest.http import FetchError, PoliteClient
from tests.cli_runner import run_papertide
from tests.ingest.ingest_server import FAST, Sleeps

LONG = "a.very.long.address.that.a.table.would.cut.on.eighty.columns@subscribers.example.org"


def test_help_shows_flags_as_flags_and_arguments_in_capitals(tmp_path: Path) -> None:
    result = run_papertide(tmp_path, "subscribers", "add", "--help", COLUMNS="120")
    assert result.exit_code == 0
    confirmed = next(line for line in result.stdout.splitlines() if "--confirmed" in line)
    assert "<bool>" not in confirmed
    assert "EMAIL" in result.stdout and "{email}" not in result.stdout
    evaluate = run_papertide(tmp_path, "eval", "--help", COLUMNS="200")
    assert "Queries JSONL file (default: DIRECTORY/queries.jsonl)." in evaluate.stdout
    assert "file ." not in evaluate.stdout and "TSV ." not in evaluate.stdout


def test_subscribers_list_prints_whole_tab_separated_rows_into_a_pipe(tmp_path: Path) -> None:
    assert run_papertide(tmp_path, "subscribers", "add", LONG, "--confirmed").exit_code == 0
    result = run_papertide(tmp_path, "subscribers", "list", COLUMNS="80")
    assert result.exit_code == 0, result.stderr
    header, row = result.stdout.splitlines()
    assert header.split("\t")[:3] == ["email", "status", "frequency"]
    assert row.split("\t")[:3] == [LONG, "confirmed", "daily"]


def test_json_is_json_lines_for_lists(tmp_path: Path) -> None:
    for address in ("ada@example.org", "grace@example.org"):
        assert run_papertide(tmp_path, "subscribers", "add", address, "--confirmed").exit_code == 0
    listed = run_papertide(tmp_path, "subscribers", "list", "--json")
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [row["email"] for row in rows] == ["ada@example.org", "grace@example.org"]
    trending = run_papertide(tmp_path, "trending", "--json")
    assert len(trending.stdout.splitlines()) == 1 and "papers" in json.loads(trending.stdout)


def test_a_host_name_that_does_not_resolve_fails_at_once_without_retries() -> None:
    def unresolvable(request: httpx.Request) -> httpx.Response:
        try:
            raise socket.gaierror(-2, "Name or service not known")
        except socket.gaierror as error:
            raise httpx.ConnectError("[Errno -2] Name or service not known", request=request) from error

    sleeps = Sleeps()
    client = PoliteClient(
        "hf-daily", FAST, transport=httpx.MockTransport(unresolvable), sleep=sleeps.sleep, monotonic=sleeps.monotonic
    )
    with client, pytest.raises(FetchError, match="does not resolve"):
        client.fetch("https://nowhere.invalid/api/daily_papers")
    assert sleeps.waits == []


def test_a_refused_connection_is_still_retried() -> None:
    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    sleeps = Sleeps()
    rules = dataclasses.replace(FAST, backoff_s=1.0)
    client = PoliteClient(
        "hf-daily", rules, transport=httpx.MockTransport(refused), sleep=sleeps.sleep, monotonic=sleeps.monotonic
    )
    with client, pytest.raises(FetchError, match="gave up after"):
        client.fetch("https://example.org/api")
    assert sleeps.waits == [1.0, 2.0]


def test_ingest_hf_daily_names_an_unresolvable_host_and_prints_its_summary_once(tmp_path: Path) -> None:
    result = run_papertide(
        tmp_path,
        "ingest",
        "hf-daily",
        PAPERTIDE_INGEST_HF_DAILY_URL="http://papertide-test.invalid/api/daily_papers",
        PAPERTIDE_INGEST_RETRIES="4",
        PAPERTIDE_INGEST_BACKOFF_S="30",
    )
    assert result.exit_code == 1
    assert "does not resolve" in result.stderr and "papertide-test.invalid" in result.stderr
    assert result.stderr.count("hf-daily: fetched 0") == 1
