"""Pages of paper cards read the database a fixed number of times, however many cards they show (issue 9, load).

Each card shows facts read from other tables (comment counts, "submitted by", Hugging Face's
extras, the viewer's vote and collections). Read card by card, a page of 30 cards cost over a
hundred queries and most of its time under bench/load.py. Every paper here has every fact, so
each page is compared with the same page showing one or two cards: the statement counts must
be equal, and the facts must be on the cards.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event

from papertide.config import Settings
from papertide.domain.authors import author_key
from papertide.domain.models import Paper, Signal
from papertide.store.accounts import get_user_by_email
from papertide.store.authorship import catch_up_authorship
from papertide.store.collections import insert_collection, insert_item
from papertide.store.comments import insert_comment
from papertide.store.engine import begin_write
from papertide.store.harvest import write_signals
from papertide.store.papers import get_paper_by_arxiv_id, upsert_papers
from papertide.store.submissions import insert_submission
from papertide.store.votes import write_vote
from tests.community_flow import ClientFactory
from tests.web.community_members import member_client
from tests.web.members import make_member

NOW = dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.UTC)
DAY = dt.date(2026, 11, 27)
MANY = 31  # one more than a list page (30) holds
MANY_IDS = [f"2611.{10000 + number}" for number in range(MANY)]
FEW_ID = "2611.20000"


@pytest.fixture
def app_engine(sqlite_engine: Engine) -> Engine:
    """Only this module's papers: 31 by Ada Lovelace in cs.LG and one by Grace Hopper in cs.DB."""
    many = [
        Paper(
            arxiv_id=arxiv_id,
            title=f"Analytical engine study {number}",
            abstract=f"How the engine computes table {number}.",
            authors=("Ada Lovelace",),
            categories=("cs.LG",),
            primary_category="cs.LG",
            published=DAY,
            listed_on=DAY,
        )
        for number, arxiv_id in enumerate(MANY_IDS)
    ]
    few = Paper(
        arxiv_id=FEW_ID,
        title="A compiler for business",
        abstract="Cobol, compiled.",
        authors=("Grace Hopper",),
        categories=("cs.DB",),
        primary_category="cs.DB",
        published=DAY,
        listed_on=DAY,
    )
    with begin_write(sqlite_engine) as conn:
        upsert_papers(conn, [*many, few], NOW)
    catch_up_authorship(sqlite_engine)
    return sqlite_engine


@pytest.fixture
def viewer(make_client: ClientFactory, app_engine: Engine, settings: Settings) -> TestClient:
    """Ada, signed in with a handle, who submitted, upvoted and collected every paper; Bob commented on each."""
    client = member_client(make_client, app_engine, settings.outbox_dir, "ada")
    bob = make_member(app_engine, "bob")
    signals = [
        Signal(arxiv_id, "hf-daily", DAY, upvotes=2, comments=5, submitted_by="Grace", github_stars=7)
        for arxiv_id in [*MANY_IDS, FEW_ID]
    ]
    with begin_write(app_engine) as conn:
        ada = get_user_by_email(conn, "ada@example.org")
        assert ada is not None
        write_signals(conn, signals, NOW)
        many_list, few_list = (
            insert_collection(
                conn, owner_id=ada.id, slug=slug, title=slug.title(), description="", is_public=True, now=NOW
            )
            for slug in ("many", "few")
        )
        for arxiv_id in [*MANY_IDS, FEW_ID]:
            stored = get_paper_by_arxiv_id(conn, arxiv_id)
            assert stored is not None
            submitter = bob if arxiv_id == FEW_ID else ada
            insert_submission(conn, paper_id=stored.id, user_id=submitter.id, day=DAY, previous=None, now=NOW)
            insert_comment(conn, paper_id=stored.id, user_id=bob.id, body="Nice.", parent_id=None, now=NOW)
            write_vote(conn, user_id=ada.id, paper_id=stored.id, wanted=True, now=NOW)
            insert_item(conn, few_list if arxiv_id == FEW_ID else many_list, stored.id, "", NOW)
    client.app.state.collection_ids = (many_list, few_list)  # type: ignore[attr-defined]
    return client


@contextmanager
def counted(engine: Engine) -> Iterator[list[str]]:
    """Every SQL statement the engine runs inside the block."""
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def statements_and_cards(client: TestClient, path: str) -> tuple[int, list[Any]]:
    """How many statements the page costs (after a first visit warmed caches) and its cards."""
    assert client.get(path).status_code == 200, path
    with counted(client.app.state.engine) as statements:  # type: ignore[attr-defined]
        response = client.get(path)
    assert response.status_code == 200, path
    return len(statements), BeautifulSoup(response.text, "html.parser").select("article.paper-item")


def pages(client: TestClient) -> list[tuple[str, str, str]]:
    """(name, page with many cards, the same page with one or two)."""
    many_list, few_list = client.app.state.collection_ids  # type: ignore[attr-defined]
    return [
        ("home", "/", "/?page=2"),
        ("day list", f"/papers/date/{DAY.isoformat()}", f"/papers/date/{DAY.isoformat()}?page=2"),
        ("search", "/search?q=engine&mode=lexical", "/search?q=cobol&mode=lexical"),
        ("category", "/categories/cs.LG", "/categories/cs.DB"),
        ("author", f"/authors/{author_key('Ada Lovelace')}", f"/authors/{author_key('Grace Hopper')}"),
        ("collection", f"/collections/{many_list}", f"/collections/{few_list}"),
        ("account", "/account", "/account?page=2"),
        ("member", "/u/ada", "/u/bob"),
    ]


def test_a_page_of_thirty_cards_costs_no_more_queries_than_a_page_of_one(viewer: TestClient) -> None:
    for name, many_path, few_path in pages(viewer):
        many, many_cards = statements_and_cards(viewer, many_path)
        few, few_cards = statements_and_cards(viewer, few_path)
        assert len(many_cards) >= 20 and 1 <= len(few_cards) <= 2, (name, len(many_cards), len(few_cards))
        assert many == few, f"{name}: {many} statements for {len(many_cards)} cards, {few} for {len(few_cards)}"


def test_every_card_of_a_batched_page_shows_its_own_facts(viewer: TestClient) -> None:
    for name, many_path, _few_path in pages(viewer):
        _count, cards = statements_and_cards(viewer, many_path)
        for card in cards:
            submitter = "/u/bob" if card.select_one(".paper-title a")["href"] == f"/papers/{FEW_ID}" else "/u/ada"
            assert card.select_one(".comment-count").get_text() == "1 comment · 5 on HF", name
            assert card.select_one(".github-stars") is None, name  # no code link: stars are not shown
            assert card.select_one(".hf-submitter").get_text() == "on Hugging Face by Grace", name
            assert card.select_one(".submitted-by a")["href"] == submitter, name
            assert card.select_one(".vote-button")["aria-pressed"] == "true", name
            assert [option.get_text() for option in card.select(".collect-form option")] == ["Few", "Many"], name
