"""Links in mails, feeds and the API follow the address `papertide serve` listens on (issue 10)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from papertide.cli.context import Invocation
from papertide.cli.serve import serving_app
from papertide.config import load_settings
from tests.cli_runner import run_papertide
from tests.community_flow import live_client, outbox_messages, request_link, serve_app, signin_link
from tests.corpus import SMALL_CORPUS
from tests.ports import free_port

FIRST = json.loads(SMALL_CORPUS.read_text(encoding="utf-8").splitlines()[0])


def test_a_server_on_another_port_puts_that_port_in_mails_feeds_and_api_urls(
    loaded_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PAPERTIDE_BASE_URL", raising=False)
    monkeypatch.delenv("PORT", raising=False)
    port = free_port()
    run = Invocation(lambda: load_settings(data_dir=loaded_dir, database_url=""))
    app = serving_app(run, "127.0.0.1", port, run_jobs=False)
    expected = f"http://127.0.0.1:{port}/"
    with serve_app(app, port) as base, live_client(base) as client:
        request_link(client, "ada@example.org")
        feed = client.get("/feeds/trending.atom").text
        word = FIRST["title"].split()[0].strip(":,")
        hits = client.get("/api/v1/search", params={"q": word, "mode": "lexical"}).json()["results"]
    [message] = outbox_messages(loaded_dir / "outbox")
    assert signin_link(message).startswith(expected)
    assert expected in feed and ":8000" not in feed
    assert hits and all(hit["url"].startswith(expected) for hit in hits)
    run.close()


def test_serve_follows_the_port_option_in_feeds(loaded_dir: Path) -> None:
    result = run_papertide(loaded_dir, "serve", "--port", "8101", "--get", "/feeds/trending.atom")
    assert result.exit_code == 0, result.stderr
    assert "http://127.0.0.1:8101/feeds/trending.atom" in result.stdout
    assert "warning" not in result.stderr


def test_a_configured_base_url_wins_and_serve_warns_when_it_names_another_local_port(loaded_dir: Path) -> None:
    result = run_papertide(
        loaded_dir,
        "serve",
        "--port",
        "8101",
        "--get",
        "/feeds/trending.atom",
        PAPERTIDE_BASE_URL="http://localhost:8000",
    )
    assert result.exit_code == 0, result.stderr
    assert "http://localhost:8000/feeds/trending.atom" in result.stdout
    assert "warning:" in result.stderr and "8101" in result.stderr


def test_a_public_base_url_behind_a_proxy_is_not_warned_about(loaded_dir: Path) -> None:
    result = run_papertide(
        loaded_dir,
        "serve",
        "--port",
        "8101",
        "--get",
        "/feeds/trending.atom",
        PAPERTIDE_BASE_URL="https://papers.example.org",
    )
    assert result.exit_code == 0, result.stderr
    assert "https://papers.example.org/feeds/trending.atom" in result.stdout
    assert "warning" not in result.stderr


def test_commands_outside_serve_link_to_the_port_in_the_environment(loaded_dir: Path) -> None:
    word = FIRST["title"].split()[0].strip(":,")
    result = run_papertide(loaded_dir, "search", word, "--json", "--mode", "lexical", PORT="8101")
    assert result.exit_code == 0, result.stderr
    assert "http://127.0.0.1:8101/papers/" in result.stdout
