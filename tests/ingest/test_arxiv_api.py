"""`ingest arxiv-api`: the recorded Atom response parsed, paged over a local server, bad bodies reported."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from papertide.domain.errors import InvalidRecord
from papertide.domain.models import Paper
from papertide.ingest.arxiv_api import ArxivApiSource, parse_atom_feed
from papertide.ingest.pipeline import run_source
from papertide.ingest.report import EXIT_FAILURE, EXIT_NEW_PAPERS, EXIT_NOTHING_NEW
from papertide.store.papers import count_papers, get_paper_by_arxiv_id
from tests.ingest.ingest_server import (
    Answer,
    FeedServer,
    atom_page,
    fixture_bytes,
    polite_client,
    recorded_entries,
    running_server,
)


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with running_server() as running:
        yield running


def paged(query: dict[str, str]) -> Answer:
    """The recorded response, paged the way the arXiv API pages it."""
    return Answer(atom_page(int(query["start"]), int(query["max_results"])))


def harvest(engine: Engine, url: str, *, max_results: int = 100, page_size: int = 4):
    with polite_client("arxiv-api") as client:
        source = ArxivApiSource(client, url, "all:science", max_results=max_results, page_size=page_size)
        return run_source(engine, source, batch_size=3)


def test_the_recorded_response_parses_into_ten_papers_with_every_field() -> None:
    page = parse_atom_feed(fixture_bytes("arxiv_api_atom.xml"), "fixture")
    papers = {item.arxiv_id: item for item in page.items if isinstance(item, Paper)}
    assert (page.total, page.start, len(papers)) == (120839, 0, 10)
    paper = papers["1503.01162"]
    assert paper.version == 1
    assert paper.title.startswith("Report on a Boston University Conference December 7-8, 2012 on 'How Can the")
    assert "\n" not in paper.title and "  " not in paper.abstract
    assert paper.primary_category == "physics.ed-ph"
    assert paper.doi == "10.1007/s11191-014-9716-8"
    assert paper.journal_ref == "Science & Education, September 2014, 23(9): 1853-1873"
    assert paper.comments == "Conference funded by NSF grant REESE-1205273. 31 pages"
    assert paper.abs_url == "https://arxiv.org/abs/1503.01162"
    assert paper.pdf_url == "https://arxiv.org/pdf/1503.01162"
    first = papers["1501.05039"]
    assert first.authors == ("Yangyong Zhu", "Yun Xiong")
    assert first.categories == ("cs.DB", "cs.CY")
    assert first.published == dt.date(2015, 1, 21) and first.updated == dt.date(2015, 1, 21)


def test_old_style_identifiers_are_kept_without_their_version() -> None:
    page = parse_atom_feed(fixture_bytes("arxiv_api_atom.xml"), "fixture")
    ids = {item.arxiv_id for item in page.items if isinstance(item, Paper)}
    assert {"quant-ph/0210005", "physics/0507092"} <= ids


def test_a_code_repository_in_the_comments_becomes_the_code_link() -> None:
    entry = recorded_entries()[0].replace(
        "</summary>",
        '</summary>\n    <arxiv:comment xmlns:arxiv="http://arxiv.org/schemas/atom">Code: '
        "https://github.com/example/datanature.</arxiv:comment>",
    )
    page = parse_atom_feed(atom_page(0, 1, entries=[entry]), "fixture")
    assert isinstance(page.items[0], Paper)
    assert page.items[0].code_url == "https://github.com/example/datanature"


def test_pages_are_requested_until_the_results_end(engine: Engine, server: FeedServer) -> None:
    url = server.route("/api/query", paged)
    report = harvest(engine, url)
    assert [request.query["start"] for request in server.requests] == ["0", "4", "8"]
    assert {request.query["max_results"] for request in server.requests} == {"4"}
    assert server.requests[0].query["sortBy"] == "lastUpdatedDate"
    assert (report.fetched, report.new, report.exit_code) == (10, 10, EXIT_NEW_PAPERS)
    with engine.connect() as conn:
        assert count_papers(conn) == 10


def test_max_results_caps_the_pages_and_the_last_page_size(engine: Engine, server: FeedServer) -> None:
    url = server.route("/api/query", paged)
    report = harvest(engine, url, max_results=6)
    assert [(r.query["start"], r.query["max_results"]) for r in server.requests] == [("0", "4"), ("4", "2")]
    assert report.new == 6


def test_the_same_results_twice_change_nothing(engine: Engine, server: FeedServer) -> None:
    url = server.route("/api/query", paged)
    harvest(engine, url)
    again = harvest(engine, url)
    assert (again.new, again.updated, again.unchanged, again.exit_code) == (0, 0, 10, EXIT_NOTHING_NEW)


def test_a_newer_version_updates_the_stored_paper(engine: Engine, server: FeedServer) -> None:
    url = server.route("/api/query", paged)
    harvest(engine, url)
    revised = (
        recorded_entries()[0]
        .replace("1501.05039v1", "1501.05039v2")
        .replace("<title>Defining Data Science</title>", "<title>Defining Data Science, revised</title>")
    )
    server.route("/api/query", lambda q: Answer(atom_page(0, 10, entries=[revised])))
    report = harvest(engine, url)
    with engine.connect() as conn:
        stored = get_paper_by_arxiv_id(conn, "1501.05039")
    assert report.updated == 1
    assert stored is not None and stored.paper.version == 2 and stored.paper.title == "Defining Data Science, revised"


def test_an_entry_without_a_title_is_skipped_and_the_others_land(engine: Engine, server: FeedServer) -> None:
    entries = recorded_entries()
    entries[2] = re.sub(r"<title>.*?</title>", "", entries[2], flags=re.DOTALL)
    server.route("/api/query", lambda q: Answer(atom_page(int(q["start"]), int(q["max_results"]), entries=entries)))
    report = harvest(engine, server.url + "/api/query")
    assert report.new == 9 and report.skipped == 1
    assert report.problems[0].location == "arxiv-api result 3 (quant-ph/0210005)"
    assert "'title'" in report.problems[0].reason


def test_a_malformed_second_page_keeps_the_first_and_names_the_position(engine: Engine, server: FeedServer) -> None:
    def answer(query: dict[str, str]) -> Answer:
        body = atom_page(int(query["start"]), int(query["max_results"]))
        return Answer(body if query["start"] == "0" else body[: len(body) // 2])

    url = server.route("/api/query", answer)
    report = harvest(engine, url)
    assert report.exit_code == EXIT_FAILURE
    assert report.failure is not None
    assert "arxiv-api" in report.failure and "start=4" in report.failure and "malformed XML at line" in report.failure
    with engine.connect() as conn:
        assert count_papers(conn) == 4


def test_an_html_page_with_status_200_is_reported_not_parsed(engine: Engine, server: FeedServer) -> None:
    page = b"<!DOCTYPE html><html><head><title>arXiv is down for maintenance</title></head><body/></html>"
    url = server.route("/api/query", Answer(page, content_type="text/html"))
    report = harvest(engine, url)
    assert report.failure is not None
    assert "HTML page" in report.failure and "arXiv is down for maintenance" in report.failure


def test_an_api_error_feed_is_reported_with_its_message(engine: Engine, server: FeedServer) -> None:
    entry = (
        "  <entry>\n    <id>http://arxiv.org/api/errors#incorrect_id_format_for_1234</id>\n"
        "    <title>Error</title>\n    <summary>incorrect id format for 1234</summary>\n  </entry>"
    )
    url = server.route("/api/query", Answer(atom_page(0, 1, entries=[entry])))
    report = harvest(engine, url)
    assert report.failure is not None and "incorrect id format for 1234" in report.failure


def test_an_entry_with_a_bad_identifier_is_reported_by_position() -> None:
    entry = recorded_entries()[0].replace("http://arxiv.org/abs/1501.05039v1</id>", "not-an-id</id>")
    page = parse_atom_feed(atom_page(0, 1, entries=[entry]), "fixture")
    assert isinstance(page.items[0], InvalidRecord)
    assert page.items[0].location == "arxiv-api result 1" and "'id'" in page.items[0].reason
