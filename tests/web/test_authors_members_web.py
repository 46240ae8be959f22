"""Author pages and follows, member pages, category lists and what paper cards show (issue 11)."""

from __future__ import annotations

import datetime as dt
from xml.etree import ElementTree

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import Engine

from papertide.config import Settings
from papertide.domain.models import Paper, Signal
from papertide.domain.subscribers import Preferences
from papertide.store.authorship import catch_up_authorship
from papertide.store.engine import begin_write
from papertide.store.harvest import write_signals
from papertide.store.papers import upsert_papers
from papertide.store.subscribers import insert_subscriber
from tests.community_flow import ClientFactory, outbox_messages
from tests.web.community_members import member_client, page_token

ATOM = {"a": "http://www.w3.org/2005/Atom"}
NOW = dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def extra_papers(app_engine: Engine) -> None:
    """Papers by two Lovelaces (one key, two first names), with categories and code links (one not http)."""
    batch = [
        Paper(
            arxiv_id="2611.00001",
            title="Notes on the analytical engine",
            abstract="Programs for a machine.",
            authors=("Ada Lovelace", "Charles Babbage"),
            categories=("cs.LO", "math.HO"),
            primary_category="cs.LO",
            published=dt.date(2026, 11, 20),
            listed_on=dt.date(2026, 11, 27),
            code_url="https://github.com/ada/engine",
        ),
        Paper(
            arxiv_id="2611.00002",
            title="Bernoulli numbers by machine",
            abstract="A table computed step by step.",
            authors=("A. Lovelace", "Luigi Menabrea"),
            categories=("math.HO",),
            primary_category="math.HO",
            published=dt.date(2026, 11, 25),
            code_url="javascript:alert(1)",
        ),
        Paper(
            arxiv_id="2611.00003",
            title="Another Lovelace",
            abstract="A different person with the same initial.",
            authors=("Alan Lovelace",),
            categories=("cs.LO",),
            primary_category="cs.LO",
            published=dt.date(2026, 11, 26),
        ),
    ]
    with begin_write(app_engine) as conn:
        upsert_papers(conn, batch, NOW)
    catch_up_authorship(app_engine)


@pytest.mark.usefixtures("extra_papers")
def test_author_names_link_to_one_page_with_papers_newest_first_coauthors_and_the_collision_notice(
    make_client: ClientFactory,
) -> None:
    client = make_client()
    paper = BeautifulSoup(client.get("/papers/2611.00001").text, "html.parser")
    links = {a.get_text(): str(a["href"]) for a in paper.select(".authors a.author-link")}
    assert links == {"Ada Lovelace": "/authors/lovelace_a", "Charles Babbage": "/authors/babbage_c"}

    page = BeautifulSoup(client.get("/authors/lovelace_a").text, "html.parser")
    titles = [a.get_text() for a in page.select(".paper-list h2.paper-title a")]
    assert titles == ["Another Lovelace", "Bernoulli numbers by machine", "Notes on the analytical engine"]
    notice = page.select_one(".name-collision")
    assert notice is not None and "2 name forms share this page" in notice.get_text()
    assert {a.get_text() for a in page.select(".coauthor-list a")} == {"Charles Babbage", "Luigi Menabrea"}

    data = client.get("/api/v1/authors/lovelace_a?limit=1&offset=1").json()
    assert data["ambiguous"] is True and data["total"] == 3
    assert [p["arxiv_id"] for p in data["papers"]] == ["2611.00002"]
    feed = ElementTree.fromstring(client.get("/authors/lovelace_a/feed.atom").content)
    assert len(feed.findall("a:entry", ATOM)) == 3
    assert client.get("/authors/nobody_x").status_code == 404
    assert client.get("/api/v1/authors/nobody_x").status_code == 404


@pytest.mark.usefixtures("extra_papers")
def test_following_an_author_is_a_csrf_post_and_the_account_page_lists_it(
    make_client: ClientFactory, app_engine: Engine, settings: Settings
) -> None:
    ada = member_client(make_client, app_engine, settings.outbox_dir, "ada")
    assert ada.post("/authors/babbage_c/follow", data={"follow": "on"}).status_code == 403
    response = ada.post("/authors/babbage_c/follow", data={"csrf_token": page_token(ada), "follow": "on"})
    assert response.status_code == 200
    page = BeautifulSoup(response.text, "html.parser")
    assert page.select_one("form.follow-form button")["aria-pressed"] == "true"  # type: ignore[index]
    account = BeautifulSoup(ada.get("/account").text, "html.parser")
    assert [a.get_text() for a in account.select(".followed-authors a")] == ["Charles Babbage"]

    ada.post("/authors/babbage_c/follow", data={"csrf_token": page_token(ada), "follow": "off", "next": "/account"})
    assert BeautifulSoup(ada.get("/account").text, "html.parser").select(".followed-authors a") == []
    signed_out = make_client().post("/authors/babbage_c/follow", data={"follow": "on"}, follow_redirects=False)
    assert signed_out.status_code == 403


@pytest.mark.usefixtures("extra_papers")
def test_categories_link_to_a_list_newest_first_with_a_feed(make_client: ClientFactory) -> None:
    client = make_client()
    paper = BeautifulSoup(client.get("/papers/2611.00001").text, "html.parser")
    assert [str(a["href"]) for a in paper.select("a.category")] == ["/categories/cs.LO", "/categories/math.HO"]
    page = BeautifulSoup(client.get("/categories/cs.LO").text, "html.parser")
    assert [a.get_text() for a in page.select(".paper-list h2.paper-title a")] == [
        "Another Lovelace",
        "Notes on the analytical engine",
    ]
    feed = ElementTree.fromstring(client.get("/categories/math.HO/feed.atom").content)
    assert len(feed.findall("a:entry", ATOM)) == 2
    assert client.get("/categories/cs.XX").status_code == 404
    assert client.get("/categories/%25%22x").status_code == 404


@pytest.mark.usefixtures("extra_papers")
def test_paper_pages_and_cards_show_only_http_code_links(make_client: ClientFactory) -> None:
    client = make_client()
    page = BeautifulSoup(client.get("/papers/2611.00001").text, "html.parser")
    assert page.select_one(".paper-extras .code-link")["href"] == "https://github.com/ada/engine"  # type: ignore[index]
    other = client.get("/papers/2611.00002").text
    assert "javascript:" not in other
    assert BeautifulSoup(other, "html.parser").select(".code-link") == []
    card = BeautifulSoup(client.get("/authors/babbage_c").text, "html.parser").select_one("article.paper-item")
    assert card is not None and card.select_one(".code-link")["href"] == "https://github.com/ada/engine"  # type: ignore[index]


def test_a_member_page_shows_public_collections_and_has_a_feed(
    make_client: ClientFactory, app_engine: Engine, settings: Settings
) -> None:
    ada = member_client(make_client, app_engine, settings.outbox_dir, "ada")
    token = page_token(ada)
    ada.post("/collections", data={"csrf_token": token, "title": "Shown", "is_public": "true"})
    ada.post("/collections", data={"csrf_token": token, "title": "Hidden"})
    reader = make_client()
    page = BeautifulSoup(reader.get("/u/ada").text, "html.parser")
    assert page.select_one("h1").get_text().startswith("Ada")  # type: ignore[union-attr]
    assert [a.get_text() for a in page.select(".collection-list a")] == ["Shown"]
    feed = reader.get("/u/ada/feed.atom")
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("application/atom+xml")
    assert reader.get("/u/nobody-here").status_code == 404
    assert (
        reader.get("/u/ada/collections/shown", follow_redirects=False).headers["location"].startswith("/collections/")
    )


THUMBNAIL = "https://cdn-thumbnails.huggingface.co/social-thumbnails/papers/2611.00001.png"


@pytest.mark.usefixtures("extra_papers")
def test_hugging_face_extras_show_on_pages_and_cards_and_the_thumbnail_never_in_mail(
    make_client: ClientFactory, app_engine: Engine, settings: Settings
) -> None:
    signal = Signal(
        "2611.00001",
        "hf-daily",
        dt.date(2026, 11, 27),
        upvotes=9,
        submitted_by="Grace <b>Hopper</b>",
        thumbnail_url=THUMBNAIL,
        github_stars=4321,
        project_page="https://example.org/engine",
    )
    with begin_write(app_engine) as conn:
        write_signals(conn, [signal], NOW)
        insert_subscriber(conn, "reader@example.org", Preferences(), status="confirmed", now=NOW - dt.timedelta(days=3))
    client = make_client()
    for path in ("/papers/2611.00001", "/authors/babbage_c"):
        page = BeautifulSoup(client.get(path).text, "html.parser")
        image = page.select_one("img.paper-thumbnail")
        assert image is not None and image["src"] == THUMBNAIL and image["loading"] == "lazy", path
        assert page.select_one(".github-stars").get_text() == "★ 4,321", path  # type: ignore[union-attr]
        assert page.select_one(".project-link")["href"] == "https://example.org/engine", path  # type: ignore[index]
        assert page.select_one(".hf-submitter").get_text() == "on Hugging Face by Grace <b>Hopper</b>", path  # type: ignore[union-attr]

    report = client.app.state.services.run_digest(now=dt.datetime(2026, 11, 28, 8, 0, tzinfo=dt.UTC))  # type: ignore[attr-defined]
    assert report.failure is None, report.summary()
    [mail] = outbox_messages(settings.outbox_dir)
    assert "Notes on the analytical engine" in mail.as_string()
    assert "cdn-thumbnails" not in mail.as_string()


@pytest.mark.usefixtures("extra_papers")
def test_the_paper_pages_extras_line_starts_with_its_first_entry_and_cards_separate_it_from_the_date(
    make_client: ClientFactory, app_engine: Engine
) -> None:
    signal = Signal("2611.00001", "hf-daily", dt.date(2026, 11, 27), upvotes=2, project_page="https://example.org/e")
    with begin_write(app_engine) as conn:
        write_signals(conn, [signal], NOW)
    client = make_client()
    extras = BeautifulSoup(client.get("/papers/2611.00001").text, "html.parser").select_one(".paper-extras")
    assert extras is not None
    assert extras.get_text(" ", strip=True).startswith("Code")
    assert extras.get_text(" ", strip=True).split() == ["Code", "·", "Project", "page"]
    card = BeautifulSoup(client.get("/authors/babbage_c").text, "html.parser").select_one("article.paper-item")
    assert card is not None
    signals = card.select_one(".paper-signals")
    assert signals is not None and signals.get_text(" ", strip=True).startswith("· Code")
