"""Trending now and the daily / weekly / monthly lists over a hand-made calendar of papers.

The papers sit on the awkward days: ISO week 53 of 2026 (28 Dec 2026 to 3 Jan 2027), month
ends, a leap day. Trending orders are computed by hand in the comments.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import partial
from typing import Any
from xml.etree import ElementTree

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from papertide.config import Settings
from papertide.domain.models import Paper
from papertide.store.accounts import write_login
from papertide.store.engine import begin_write
from papertide.store.papers import upsert_papers
from papertide.store.schema import papers
from papertide.store.votes import write_vote
from papertide.web.app import create_app
from tests.community_flow import ClientFactory, Clock

D = dt.date
# arxiv id, listed on (None: falls back to published), imported upvotes
CALENDAR: list[tuple[str, D | None, D, int]] = [
    ("2612.00001", D(2026, 12, 27), D(2026, 12, 20), 5),  # Sunday of 2026-W52
    ("2612.00002", D(2026, 12, 28), D(2026, 12, 22), 3),  # Monday of 2026-W53 (+3 community votes below)
    ("2612.00003", D(2026, 12, 31), D(2026, 12, 29), 60),  # Thursday of 2026-W53
    ("2701.00004", D(2027, 1, 3), D(2027, 1, 1), 1),  # Sunday of 2026-W53, already 2027
    ("2701.00005", D(2027, 1, 4), D(2027, 1, 2), 7),  # Monday of 2027-W01
    ("2611.00006", None, D(2026, 11, 30), 4),  # never listed: counts on its publication day, a month end
    ("2612.00007", D(2026, 12, 1), D(2026, 11, 28), 2),
    ("2402.00008", D(2024, 2, 29), D(2024, 2, 28), 6),  # leap day
]
COMMUNITY_VOTES = {"2612.00002": 3}
NOW = dt.datetime(2027, 1, 4, 22, 0, tzinfo=dt.UTC)


@pytest.fixture
def calendar_engine(sqlite_engine: Engine) -> Engine:
    batch = [
        Paper(
            arxiv_id=arxiv_id,
            title=f"Paper {arxiv_id}",
            abstract=f"Abstract of {arxiv_id}.",
            authors=("A. Author",),
            published=published,
            listed_on=listed,
            external_upvotes=upvotes,
        )
        for arxiv_id, listed, published, upvotes in CALENDAR
    ]
    with begin_write(sqlite_engine) as conn:
        upsert_papers(conn, batch, NOW)
        for arxiv_id, count in COMMUNITY_VOTES.items():
            paper_id = conn.execute(select(papers.c.id).where(papers.c.arxiv_id == arxiv_id)).scalar_one()
            for number in range(count):
                user = write_login(conn, f"voter{number}@example.org", NOW)
                write_vote(conn, user_id=user.id, paper_id=paper_id, wanted=True, now=NOW)
    return sqlite_engine


@pytest.fixture
def app_engine(calendar_engine: Engine) -> Engine:
    return calendar_engine


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def make_client(make_client: ClientFactory) -> ClientFactory:
    """Clients that do not follow redirects: the list pages are checked for where they send you."""
    return partial(make_client, follow_redirects=False)


def _listed(response: Any) -> list[str]:
    page = BeautifulSoup(response.text, "html.parser")
    return [str(link["href"]).removeprefix("/papers/") for link in page.select("main .paper-title a")]


def _nav(response: Any) -> tuple[str | None, str | None]:
    page = BeautifulSoup(response.text, "html.parser")
    previous, following = page.select_one(".period-nav a[rel=prev]"), page.select_one(".period-nav a[rel=next]")
    return (str(previous["href"]) if previous else None, str(following["href"]) if following else None)


def test_week_53_holds_the_last_days_of_2026_and_the_first_of_2027(make_client: Callable[..., TestClient]) -> None:
    response = make_client().get("/papers/week/2026-W53")
    assert response.status_code == 200
    # 60, 3 + 3 community votes, 1: ordered by all upvotes.
    assert _listed(response) == ["2612.00003", "2612.00002", "2701.00004"]
    assert _nav(response) == ("/papers/week/2026-W52", "/papers/week/2027-W01")
    assert "Week 53, 2026 (28 Dec–3 Jan)" in BeautifulSoup(response.text, "html.parser").select_one("h1").get_text()


def test_a_month_ends_on_its_last_day_and_links_to_the_months_with_papers(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client()
    november = client.get("/papers/month/2026-11")
    assert _listed(november) == ["2611.00006"]
    assert _nav(november) == ("/papers/month/2024-02", "/papers/month/2026-12")
    # 60, 3 + 3 community, 5, 2: community votes count in the order.
    assert _listed(client.get("/papers/month/2026-12")) == ["2612.00003", "2612.00002", "2612.00001", "2612.00007"]
    assert _listed(client.get("/papers/month/2024-02")) == ["2402.00008"]
    assert _listed(client.get("/papers/date/2024-02-29")) == ["2402.00008"]


def test_day_links_skip_days_without_papers_and_an_empty_day_says_so(make_client: Callable[..., TestClient]) -> None:
    client = make_client()
    last_day = client.get("/papers/date/2026-12-31")
    assert _listed(last_day) == ["2612.00003"]
    assert _nav(last_day) == ("/papers/date/2026-12-28", "/papers/date/2027-01-03")
    empty = client.get("/papers/date/2026-12-30")
    assert empty.status_code == 200 and _listed(empty) == []
    text = BeautifulSoup(empty.text, "html.parser").select_one("main .empty").get_text()
    assert "No papers were listed on 30 Dec 2026" in text
    assert _nav(empty) == ("/papers/date/2026-12-28", "/papers/date/2026-12-31")
    assert _nav(client.get("/papers/date/2027-01-04"))[1] is None


@pytest.mark.parametrize(
    "path",
    [
        "/papers/date/2026-02-30",
        "/papers/date/2026-13-01",
        "/papers/date/yesterday",
        "/papers/date/2026-1-1",
        "/papers/week/2027-W53",
        "/papers/week/2026-W54",
        "/papers/week/2026-W00",
        "/papers/week/2026-11-27",
        "/papers/week/2026-w48",
        "/papers/month/2026-13",
        "/papers/month/2026-1",
        "/papers/month/2026-11-01",
        "/papers/month/2026-12?page=5",
    ],
)
def test_malformed_dates_and_weeks_are_a_404_page(make_client: Callable[..., TestClient], path: str) -> None:
    response = make_client().get(path)
    assert response.status_code == 404
    page = BeautifulSoup(response.text, "html.parser")
    assert page.select_one(".error-status").get_text() == "404"
    assert page.select_one("h1").get_text() == "Page not found"


def test_list_shortcuts_go_to_the_latest_period_with_papers(make_client: Callable[..., TestClient]) -> None:
    client = make_client(now=dt.datetime(2027, 3, 1, 12, 0, tzinfo=dt.UTC))
    assert client.get("/papers/date").headers["location"] == "/papers/date/2027-01-04"
    assert client.get("/papers/week").headers["location"] == "/papers/week/2027-W01"
    assert client.get("/papers/month").headers["location"] == "/papers/month/2027-01"


def test_today_is_taken_in_the_configured_time_zone(make_client: Callable[..., TestClient]) -> None:
    # 12:00 UTC on 3 Jan 2027 is 01:00 on 4 Jan in Auckland (UTC+13 in summer).
    moment = dt.datetime(2027, 1, 3, 12, 0, tzinfo=dt.UTC)
    assert make_client(now=moment).get("/papers/date").headers["location"] == "/papers/date/2027-01-03"
    auckland = make_client(now=moment, list_timezone="Pacific/Auckland")
    assert auckland.get("/papers/date").headers["location"] == "/papers/date/2027-01-04"


def test_home_shows_trending_now_in_the_hand_computed_order(make_client: Callable[..., TestClient]) -> None:
    # At 2027-01-04 22:00 UTC the 7-day window is 29 Dec to 4 Jan; gravity 1.8, offset 2 h:
    #   2701.00005:  7 / (22 + 2) ** 1.8  = 0.0229
    #   2612.00003: 60 / (118 + 2) ** 1.8 = 0.0109
    #   2701.00004:  1 / (46 + 2) ** 1.8  = 0.0009
    # Papers of 27-28 Dec are outside the window.
    response = make_client().get("/")
    assert _listed(response) == ["2701.00005", "2612.00003", "2701.00004"]
    assert BeautifulSoup(response.text, "html.parser").select_one(".notice") is None


def test_a_lower_gravity_lets_the_older_paper_with_more_votes_lead(make_client: Callable[..., TestClient]) -> None:
    # Gravity 1: 60 / 120 = 0.5 beats 7 / 24 = 0.29 and 1 / 48 = 0.02.
    response = make_client(trending_gravity=1.0).get("/")
    assert _listed(response) == ["2612.00003", "2701.00005", "2701.00004"]


def test_home_falls_back_to_the_latest_days_with_papers_and_says_so(make_client: Callable[..., TestClient]) -> None:
    # Nothing listed in the week to 1 March 2027: the window moves to 29 Dec - 4 Jan, scored at
    # the end of 4 Jan: 7 / 26 ** 1.8 = 0.0198, 60 / 122 ** 1.8 = 0.0105, 1 / 50 ** 1.8 = 0.0009.
    response = make_client(now=dt.datetime(2027, 3, 1, 9, 0, tzinfo=dt.UTC)).get("/")
    assert _listed(response) == ["2701.00005", "2612.00003", "2701.00004"]
    notice = BeautifulSoup(response.text, "html.parser").select_one(".notice")
    assert notice is not None
    assert "Nothing was listed in the last 7 days" in notice.get_text()
    assert notice.select_one("a")["href"] == "/papers/date/2027-01-04"


def test_the_api_returns_the_same_lists_as_json(make_client: Callable[..., TestClient]) -> None:
    client = make_client()
    now = client.get("/api/v1/trending").json()
    assert now["kind"] == "now" and now["window"]["since"] == "2026-12-29" and not now["window"]["fallback"]
    assert [paper["arxiv_id"] for paper in now["papers"]] == ["2701.00005", "2612.00003", "2701.00004"]
    assert now["papers"][0]["score"] == pytest.approx(7 / 24**1.8, rel=1e-6)

    week = client.get("/api/v1/trending", params={"period": "week", "date": "2027-01-01"}).json()
    assert week["period"]["key"] == "2026-W53" and week["total"] == 3
    assert week["previous"]["key"] == "2026-W52" and week["next"]["key"] == "2027-W01"
    second = week["papers"][1]
    assert (second["arxiv_id"], second["upvotes"], second["community_upvotes"]) == ("2612.00002", 6, 3)

    bad = client.get("/api/v1/trending", params={"period": "week", "date": "2027-W53"})
    assert bad.status_code == 422 and "2027 has ISO weeks 1 to 52" in bad.json()["detail"]


def test_feeds_carry_the_lists_as_valid_atom_and_rss(make_client: Callable[..., TestClient]) -> None:
    client = make_client()
    atom = client.get("/feeds/trending.atom", params={"period": "week", "date": "2026-W53"})
    assert atom.headers["content-type"].startswith("application/atom+xml")
    root = ElementTree.fromstring(atom.content)
    ns = {"a": "http://www.w3.org/2005/Atom"}
    assert [entry.findtext("a:id", namespaces=ns) for entry in root.findall("a:entry", ns)] == [
        "http://testserver/papers/2612.00003",
        "http://testserver/papers/2612.00002",
        "http://testserver/papers/2701.00004",
    ]
    rss = client.get("/feeds/trending.rss")
    assert rss.headers["content-type"].startswith("application/rss+xml")
    items = ElementTree.fromstring(rss.content).findall("channel/item")
    assert [item.findtext("link") for item in items] == [
        "http://testserver/papers/2701.00005",
        "http://testserver/papers/2612.00003",
        "http://testserver/papers/2701.00004",
    ]
    assert client.get("/feeds/trending.rss", params={"period": "month", "date": "2026-13"}).status_code == 404


def test_the_home_page_links_every_list(make_client: Callable[..., TestClient]) -> None:
    page = BeautifulSoup(make_client().get("/").text, "html.parser")
    nav = {link.get_text(strip=True): link["href"] for link in page.select("nav.site-nav a")}
    assert nav["Trending"] == "/" and nav["Daily"] == "/papers/date" and nav["Weekly"] == "/papers/week"
    assert nav["Monthly"] == "/papers/month" and nav["Sign in"].startswith("/signin")
    assert page.select_one('link[rel=alternate][type="application/atom+xml"]')["href"] == "/feeds/trending.atom"


def test_long_lists_are_paged_with_links_both_ways(settings: Settings, corpus_engine: Engine) -> None:
    with TestClient(create_app(settings.model_copy(update={"list_page_size": 5}))) as client:
        first = BeautifulSoup(client.get("/papers/month/2026-08").text, "html.parser")
        assert len(first.select("main article.paper-item")) == 5
        assert first.select_one(".pager a[rel=next]")["href"] == "/papers/month/2026-08?page=2"
        assert first.select_one(".pager a[rel=prev]") is None
        last = BeautifulSoup(client.get("/papers/month/2026-08?page=3").text, "html.parser")
        assert len(last.select("main article.paper-item")) == 4  # 14 papers in August 2026
        assert last.select_one("main ol")["start"] == "11"
        assert last.select_one(".pager a[rel=prev]")["href"] == "/papers/month/2026-08?page=2"
        assert last.select_one(".pager a[rel=next]") is None
        assert client.get("/papers/month/2026-08?page=4").status_code == 404
        assert client.get("/papers/month/2026-08?page=0").status_code == 400
