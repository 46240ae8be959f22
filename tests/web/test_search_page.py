"""The search page, parsed as HTML: results, highlights, modes, sorting, filters, pages, errors, feed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlparse
from xml.etree import ElementTree

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from papertide.config import Settings
from tests.search.search_corpus import Paper
from tests.web.search_app import search_client

ATOM = "{http://www.w3.org/2005/Atom}"
MANY_AUTHORS = Paper(
    arxiv_id="2509.00001",
    title="A large collaboration on analytical engines",
    abstract="Engines that compute.",
    authors=(*(f"Author {name}" for name in "ABCDEFG"), "Ada Lovelace", "Author H", "Author I"),
    published=dt.date(2024, 12, 1),
)
FILLER = [
    Paper(
        arxiv_id=f"2508.{index:05d}",
        title=f"Kernel methods note {index}",
        abstract="Kernel regression with random features.",
        published=dt.date(2025, 8, 1) + dt.timedelta(days=index),
    )
    for index in range(1, 26)
]


def soup(response: Any) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


def titles(page: BeautifulSoup) -> list[str]:
    return [a.get_text().strip() for a in page.select("#results .paper-title a")]


@pytest.fixture
def client(settings: Settings, sqlite_engine: Engine) -> Iterator[TestClient]:
    with search_client(settings, sqlite_engine, *FILLER, MANY_AUTHORS) as test_client:
        yield test_client


def test_results_are_listed_with_matched_words_marked(client: TestClient) -> None:
    response = client.get("/search", params={"q": "chaotic dynamics"})
    page = soup(response)
    assert response.status_code == 200
    assert titles(page)[0] == "Neural ordinary differential equations for chaotic dynamics"
    first = page.select_one("#results .paper-item")
    assert {mark.get_text().lower() for mark in first.select(".paper-title mark")} == {"chaotic", "dynamics"}
    assert "chaotic" in {mark.get_text().lower() for mark in page.select("#results .snippet mark")}


def test_hybrid_search_finds_papers_that_share_no_word_with_the_query(client: TestClient) -> None:
    hybrid = titles(soup(client.get("/search", params={"q": "turbulence"})))
    words = soup(client.get("/search", params={"q": "turbulence", "mode": "lexical"}))
    assert "Neural ordinary differential equations for chaotic dynamics" in hybrid
    assert titles(words) == []
    assert words.select_one("#result-summary").get_text(strip=True).startswith("No close matches")


def test_the_mode_and_sort_controls_show_the_current_choice(client: TestClient) -> None:
    page = soup(client.get("/search", params={"q": "mind", "mode": "semantic", "sort": "newest"}))
    assert page.select_one("#search-mode option[selected]")["value"] == "semantic"
    assert page.select_one("#search-sort option[selected]")["value"] == "newest"
    assert page.select_one("label[for=search-mode]") is not None


def test_sorting_by_newest_puts_the_latest_relevant_paper_first(client: TestClient) -> None:
    page = soup(client.get("/search", params={"q": "chaotic dynamics", "sort": "newest", "mode": "lexical"}))
    assert titles(page) == [
        "A survey of reinforcement learning",
        "Neural ordinary differential equations for chaotic dynamics",
    ]


def test_filter_fields_narrow_results_and_stay_filled_in(client: TestClient) -> None:
    page = soup(client.get("/search", params={"q": "chaotic", "cat": "cs.AI", "mode": "lexical"}))
    assert titles(page) == ["A survey of reinforcement learning"]
    assert page.select_one("#filter-cat")["value"] == "cs.AI"
    assert page.select_one("details.search-filters").has_attr("open")


def test_query_syntax_filters_work_from_the_search_box(client: TestClient) -> None:
    page = soup(client.get("/search", params={"q": 'author:"Ada Lovelace" since:2025-03'}))
    assert titles(page) == ["Stochastic gradient descent on manifolds"]


def test_invalid_syntax_is_a_400_page_that_names_the_problem(client: TestClient) -> None:
    response = client.get("/search", params={"q": 'neural "ordinary'})
    page = soup(response)
    assert response.status_code == 400
    assert "unclosed quote" in page.select_one("[role=alert]").get_text()
    assert page.select_one("#search-q")["value"] == 'neural "ordinary'
    assert titles(page) == []


@pytest.mark.parametrize("params", [{"q": "x", "mode": "fuzzy"}, {"q": "x", "page": "0"}, {"q": "x", "sort": "?"}])
def test_bad_parameters_are_400_pages_not_500(client: TestClient, params: dict[str, str]) -> None:
    response = client.get("/search", params=params)
    assert response.status_code == 400
    assert soup(response).select_one(".error-page") is not None


def test_pages_link_to_each_other_and_keep_the_options(client: TestClient) -> None:
    first = soup(client.get("/search", params={"q": "kernel", "mode": "lexical", "sort": "newest"}))
    assert len(titles(first)) == 20
    next_link = first.select_one("nav.pager a[rel=next]")["href"]
    params = parse_qs(urlparse(next_link).query)
    assert params == {"q": ["kernel"], "mode": ["lexical"], "sort": ["newest"], "page": ["2"]}
    second = soup(client.get(next_link))
    assert len(titles(second)) == 5
    assert not set(titles(second)) & set(titles(first))
    assert second.select_one("nav.pager a[rel=prev]") is not None
    assert second.select_one("nav.pager a[rel=next]") is None
    assert "25 results" in first.select_one("#result-summary").get_text()


def test_without_a_model_hybrid_shows_word_matches_and_semantic_explains(
    settings: Settings, sqlite_engine: Engine
) -> None:
    with search_client(settings, sqlite_engine, semantic=False) as client:
        hybrid = client.get("/search", params={"q": "chaotic"})
        semantic = client.get("/search", params={"q": "chaotic", "mode": "semantic"})
    assert hybrid.status_code == 200
    assert "showing word matches only" in soup(hybrid).select_one(".notice").get_text()
    assert semantic.status_code == 503
    assert "no embedding model" in soup(semantic).select_one("[role=alert]").get_text()


def test_an_empty_search_shows_the_form_and_the_syntax_help(client: TestClient) -> None:
    page = soup(client.get("/search"))
    assert page.select_one("#search-q") is not None
    assert page.select_one("details.search-help") is not None
    assert titles(page) == []


def test_the_paper_page_lists_similar_papers_but_not_itself(client: TestClient) -> None:
    page = soup(client.get("/papers/2501.00001"))
    related = [a.get_text(strip=True) for a in page.select("section.related a")]
    assert related == ["A survey of reinforcement learning"]
    assert page.select_one("#related-heading").get_text(strip=True) == "Similar papers"


def test_any_search_is_an_atom_feed(client: TestClient) -> None:
    page = soup(client.get("/search", params={"q": "chaotic"}))
    feed_href = page.select_one("link[rel=alternate][type='application/atom+xml']")["href"]
    response = client.get(feed_href)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/atom+xml")
    root = ElementTree.fromstring(response.content)
    entries = [entry.findtext(f"{ATOM}title") for entry in root.findall(f"{ATOM}entry")]
    assert entries[:2] == [
        "A survey of reinforcement learning",
        "Neural ordinary differential equations for chaotic dynamics",
    ]
    assert root.findtext(f"{ATOM}title") == "papertide: chaotic"


def test_an_atom_feed_of_a_bad_query_is_a_400_with_the_message(client: TestClient) -> None:
    response = client.get("/search.atom", params={"q": "since:never"})
    assert response.status_code == 400
    assert "since: expects a date" in response.text


def test_a_search_nothing_is_close_to_says_no_close_matches_and_suggests_what_to_try(client: TestClient) -> None:
    response = client.get("/search", params={"q": "zzqxjvbw"})
    page = soup(response)
    assert response.status_code == 200
    assert page.select_one("#result-summary").get_text(" ", strip=True).startswith("No close matches. ·")
    advice = page.select_one("#no-close-matches").get_text(" ", strip=True)
    assert "No paper contains these words or is close enough to them in meaning" in advice
    assert "Check the spelling" in advice
    assert not page.select("#results")
    feed = ElementTree.fromstring(client.get("/search.atom", params={"q": "zzqxjvbw"}).content)
    assert feed.findtext(f"{ATOM}subtitle") == "No close matches for “zzqxjvbw” yet."
    assert feed.findall(f"{ATOM}entry") == []


def test_the_result_count_is_what_can_be_paged_through(client: TestClient) -> None:
    page = soup(client.get("/search", params={"q": "chaotic dynamics"}))
    summary = page.select_one("#result-summary").get_text(" ", strip=True)
    assert summary.startswith(f"{len(titles(page))} results")


def test_an_author_search_lists_newest_first_and_shows_the_matched_author_in_a_cut_list(client: TestClient) -> None:
    page = soup(client.get("/search", params={"q": "author:Lovelace"}))
    assert titles(page) == [
        "Stochastic gradient descent on manifolds",
        "Neural ordinary differential equations for chaotic dynamics",
        "A large collaboration on analytical engines",
    ]
    assert page.select_one("#search-sort option[selected]")["value"] == "newest"
    authors = page.select("#results .paper-item .authors")[2].get_text()
    assert authors == "Author A, Author B, Author C, Author D, Author E, Author F, … Ada Lovelace, and 3 more"
    trending = soup(client.get("/search", params={"q": "author:Lovelace", "sort": "trending"}))
    assert trending.select_one("#search-sort option[selected]")["value"] == "trending"


@pytest.mark.parametrize("error", [EOFError("No data left in file"), RuntimeError("faiss: read error")])
def test_a_semantic_index_that_cannot_be_read_gives_word_matches_with_a_notice_not_a_500(
    settings: Settings, sqlite_engine: Engine, error: Exception
) -> None:
    with search_client(settings, sqlite_engine, semantic_error=error) as client:
        page = client.get("/search", params={"q": "chaotic"})
        api = client.get("/api/v1/search", params={"q": "chaotic"})
        similar = client.get("/api/v1/papers/2501.00001/similar")
        paper = client.get("/papers/2501.00001")
    assert page.status_code == 200
    assert titles(soup(page))
    assert "semantic search is temporarily unavailable" in soup(page).select_one(".notice").get_text()
    assert api.status_code == 200
    assert any("semantic search is temporarily unavailable" in notice for notice in api.json()["notices"])
    assert similar.status_code == 200
    assert paper.status_code == 200


def test_a_filter_no_stored_paper_passes_is_named_as_the_reason_not_the_words(client: TestClient) -> None:
    # The words match papers; nothing is published after 2099: the filter, not the words, is what to change.
    assert client.get("/api/v1/search", params={"q": "chaotic"}).json()["total"] > 0
    response = client.get("/search", params={"q": "chaotic", "since": "2099-01-01"})
    page = soup(response)
    assert response.status_code == 200
    advice = page.select_one("#no-close-matches").get_text(" ", strip=True)
    assert "No paper stored here passes since:2099-01-01, whatever the words." in advice
    assert "No paper contains these words" not in advice
    body = client.get("/api/v1/search", params={"q": 'chaotic "quantum chaos" since:2099-01-01'}).json()
    assert body["notices"] == ['no close matches: no paper stored here passes "quantum chaos" since:2099-01-01']
    # A filter many papers pass, with words none of them contain: the words are the reason.
    words = client.get("/api/v1/search", params={"q": "zzqxjvbw since:1990-01-01"}).json()
    assert words["notices"] == ["no close matches: no paper contains these words or is close enough in meaning"]
