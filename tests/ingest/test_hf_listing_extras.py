"""Hugging Face's listing extras (issue 11): submitter, thumbnail, GitHub stars, project page, kept per listing."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from papertide.domain.models import Signal
from papertide.ingest.hf_daily import HfDailySource, parse_daily_papers
from papertide.ingest.pipeline import run_source
from papertide.store.listing_extras import read_listing_extras
from papertide.store.papers import get_paper_by_arxiv_id
from tests.ingest.ingest_server import Answer, FeedServer, fixture_bytes, polite_client, running_server

FEATURED = dt.date(2024, 10, 25)


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with running_server() as running:
        yield running


def newer_listing(**paper_fields: object) -> list[dict[str, object]]:
    """The recorded listing with the fields Hugging Face added in 2025 on its first paper."""
    items: list[dict[str, object]] = json.loads(fixture_bytes("hf_daily_papers.json"))
    first = items[0]
    paper = first["paper"]
    assert isinstance(paper, dict)
    paper.update(
        {
            "githubRepo": "https://github.com/example/inf-cl",
            "githubStars": 1234,
            "projectPage": "https://example.org/inf-cl",
        }
    )
    paper.update(paper_fields)
    return items


def signals_of(content: bytes) -> list[Signal]:
    return [item for item in parse_daily_papers(content, "fixture", None) if isinstance(item, Signal)]


def test_the_recorded_listing_gives_the_submitter_and_the_thumbnail() -> None:
    first = signals_of(fixture_bytes("hf_daily_papers.json"))[0]
    assert first.submitted_by == "Zesen Cheng"
    assert first.thumbnail_url == "https://cdn-thumbnails.huggingface.co/social-thumbnails/papers/2410.17243.png"
    assert first.github_stars is None and first.project_page is None


def test_newer_fields_give_stars_and_the_project_page() -> None:
    first = signals_of(json.dumps(newer_listing()).encode())[0]
    assert (first.github_stars, first.project_page) == (1234, "https://example.org/inf-cl")


def test_links_that_are_not_http_and_odd_counts_are_dropped() -> None:
    items = newer_listing(projectPage="javascript:alert(1)", githubStars=-5)
    items[0]["thumbnail"] = "data:image/png;base64,AAAA"
    items[0]["submittedBy"] = {"fullname": "Eve\u202e\u0007 Spoof" + "x" * 400}
    first = signals_of(json.dumps(items).encode())[0]
    assert first.project_page is None and first.thumbnail_url is None and first.github_stars is None
    assert first.submitted_by is not None and "\u0007" not in first.submitted_by and len(first.submitted_by) == 200


def test_a_fetch_stores_the_extras_and_the_latest_listing_wins(engine: Engine, server: FeedServer) -> None:
    later = newer_listing(githubStars=2000)
    url = server.route(
        "/api/daily_papers",
        Answer(json.dumps(newer_listing()).encode(), content_type="application/json"),
        Answer(json.dumps(later).encode(), content_type="application/json"),
    )
    with polite_client("hf-daily") as client:
        run_source(engine, HfDailySource(client, url, [FEATURED]))
        run_source(engine, HfDailySource(client, url, [FEATURED + dt.timedelta(days=1)]))
    with engine.connect() as conn:
        stored = get_paper_by_arxiv_id(conn, "2410.17243")
        assert stored is not None
        extras = read_listing_extras(conn, [stored.id])[stored.id]
    assert extras.submitted_by == "Zesen Cheng" and extras.github_stars == 2000
    assert extras.project_page == "https://example.org/inf-cl"
