"""`ingest hf-daily`: papers with their featured date and upvotes, and per-date signals."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select

from papertide.domain.models import Paper, Signal
from papertide.ingest.hf_daily import HfDailySource, parse_daily_papers
from papertide.ingest.pipeline import run_source
from papertide.store.papers import get_paper_by_arxiv_id
from papertide.store.schema import paper_signals, papers
from tests.ingest.ingest_server import Answer, FeedServer, fixture_bytes, polite_client, running_server

FEATURED = dt.date(2024, 10, 25)


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with running_server() as running:
        yield running


def listing(**paper_changes: object) -> list[dict[str, object]]:
    items = json.loads(fixture_bytes("hf_daily_papers.json"))
    for item in items:
        item["paper"].update(paper_changes)
    return items


def fetch(engine: Engine, url: str, dates: list[dt.date | None]):
    with polite_client("hf-daily") as client:
        return run_source(engine, HfDailySource(client, url, dates))


def signals(engine: Engine) -> list[tuple[str, dt.date, int, int]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(papers.c.arxiv_id, paper_signals.c.listed_on, paper_signals.c.upvotes, paper_signals.c.comments)
            .join(papers, papers.c.id == paper_signals.c.paper_id)
            .order_by(papers.c.arxiv_id, paper_signals.c.listed_on)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


def test_the_recorded_listing_gives_papers_and_signals() -> None:
    items = parse_daily_papers(fixture_bytes("hf_daily_papers.json"), "fixture", None)
    found = [item for item in items if isinstance(item, Paper)]
    found_signals = [item for item in items if isinstance(item, Signal)]
    assert [paper.arxiv_id for paper in found] == ["2410.17243", "2410.16251", "2410.18533"]
    assert [paper.external_upvotes for paper in found] == [64, 41, 37]
    assert {paper.listed_on for paper in found} == {FEATURED}
    first = found[0]
    assert first.title == "Breaking the Memory Barrier: Near Infinite Batch Size Scaling for Contrastive Loss"
    assert first.authors[:2] == ("Zesen Cheng", "Hang Zhang")
    assert first.published == dt.date(2024, 10, 22)
    assert [(s.upvotes, s.comments) for s in found_signals] == [(64, 3), (41, 2), (37, 2)]


def test_a_fetch_stores_papers_with_featured_date_upvotes_and_signals(engine: Engine, server: FeedServer) -> None:
    url = server.route(
        "/api/daily_papers", Answer(fixture_bytes("hf_daily_papers.json"), content_type="application/json")
    )
    report = fetch(engine, url, [FEATURED])
    with engine.connect() as conn:
        stored = get_paper_by_arxiv_id(conn, "2410.17243")
    assert server.requests[0].query == {"date": "2024-10-25"}
    assert (report.new, report.signals) == (3, 3)
    assert stored is not None
    assert stored.paper.listed_on == FEATURED and stored.paper.external_upvotes == 64
    assert signals(engine)[0] == ("2410.16251", FEATURED, 41, 2)


def test_later_counts_replace_the_days_signal_and_upvotes_never_shrink(engine: Engine, server: FeedServer) -> None:
    url = server.route(
        "/api/daily_papers",
        Answer(json.dumps(listing(upvotes=100)).encode()),
        Answer(json.dumps(listing(upvotes=5)).encode()),
    )
    fetch(engine, url, [FEATURED])
    grown = fetch(engine, url, [FEATURED])
    with engine.connect() as conn:
        stored = get_paper_by_arxiv_id(conn, "2410.17243")
    assert grown.updated == 0 and grown.unchanged == 3
    assert stored is not None and stored.paper.external_upvotes == 100
    assert [row[2] for row in signals(engine)] == [5, 5, 5]


def test_the_latest_listing_is_asked_for_without_a_date(engine: Engine, server: FeedServer) -> None:
    url = server.route("/api/daily_papers", Answer(fixture_bytes("hf_daily_papers.json")))
    fetch(engine, url, [None])
    assert server.requests[0].query == {}
    with engine.connect() as conn:
        stored = get_paper_by_arxiv_id(conn, "2410.18533")
    assert stored is not None and stored.paper.listed_on == FEATURED


def test_an_item_without_a_title_is_skipped_and_the_others_land(engine: Engine, server: FeedServer) -> None:
    items = listing()
    del items[1]["paper"]["title"]
    del items[1]["title"]
    url = server.route("/api/daily_papers", Answer(json.dumps(items).encode()))
    report = fetch(engine, url, [FEATURED])
    assert (report.new, report.skipped, report.signals) == (2, 1, 2)
    assert report.problems[0].location.endswith("item 2 (2410.16251)")
    assert "'paper.title'" in report.problems[0].reason


def test_an_html_page_with_status_200_fails_the_run_clearly(engine: Engine, server: FeedServer) -> None:
    page = b"<!doctype html><html><title>Hugging Face is down</title></html>"
    url = server.route("/api/daily_papers", Answer(page, content_type="text/html"))
    report = fetch(engine, url, [FEATURED])
    assert report.failure is not None
    assert report.failure.startswith("hf-daily http://127.0.0.1") and "HTML page" in report.failure


def test_an_error_object_instead_of_a_list_is_reported(engine: Engine, server: FeedServer) -> None:
    url = server.route("/api/daily_papers", Answer(b'{"error": "Invalid date"}'))
    report = fetch(engine, url, [FEATURED])
    assert report.failure is not None and "Invalid date" in report.failure
