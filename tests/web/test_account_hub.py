"""The account as the hub (issue 10): the digest from the account page, deleting the account, the banner."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from papertide.config import Settings
from papertide.domain.subscribers import Preferences, Subscriber
from papertide.store.engine import begin_write
from papertide.store.schema import login_tokens, papers, users, votes
from papertide.store.subscribers import get_subscriber_by_email, insert_subscriber
from tests.community_flow import ClientFactory, Clock, form_fields, outbox_messages, sign_in

NOW = dt.datetime(2026, 8, 21, 12, 0, tzinfo=dt.UTC)
PAPER = "2608.16887"
ADA = "ada@example.org"


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def member(make_client: ClientFactory, settings: Settings) -> TestClient:
    client = make_client()
    sign_in(client, ADA, settings.outbox_dir)
    return client


def page(response: Any) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


def subscriber(engine: Engine, address: str = ADA) -> Subscriber | None:
    with engine.connect() as conn:
        return get_subscriber_by_email(conn, address)


def digest_block(response: Any) -> BeautifulSoup:
    found = page(response).select_one("section#digest")
    assert found is not None
    return found


def test_a_member_subscribes_their_own_address_in_one_click_without_a_mail(
    member: TestClient, settings: Settings, corpus_engine: Engine
) -> None:
    mails = len(outbox_messages(settings.outbox_dir))
    block = digest_block(member.get("/account"))
    action, fields = form_fields(str(block), "form")
    assert action == "/account/digest/subscribe"
    done = member.post(action, data=fields)
    assert done.status_code == 200 and done.url.path == "/account"
    found = subscriber(corpus_engine)
    assert found is not None and found.status == "confirmed" and found.confirmed_at is not None
    assert len(outbox_messages(settings.outbox_dir)) == mails  # the sign-in link proved the address
    block = digest_block(done)
    assert "You are subscribed" in block.get_text()
    edit = block.select_one('a[href^="/digest/preferences/"]')
    assert edit is not None and edit.get_text(strip=True) == "Edit digest preferences"
    preferences = member.get(edit["href"])
    assert preferences.status_code == 200 and ADA in preferences.text


def test_subscribing_from_the_account_confirms_a_pending_sign_up_and_keeps_preferences(
    member: TestClient, corpus_engine: Engine
) -> None:
    with begin_write(corpus_engine) as conn:
        insert_subscriber(conn, ADA, Preferences(hour=18, timezone="Europe/Paris"), status="pending", now=NOW)
    block = digest_block(member.get("/account"))
    assert "Not confirmed" in block.get_text()
    action, fields = form_fields(str(block), "form")
    member.post(action, data=fields)
    found = subscriber(corpus_engine)
    assert found is not None and found.status == "confirmed"
    assert (found.preferences.hour, found.preferences.timezone) == (18, "Europe/Paris")


def test_a_member_unsubscribes_from_the_account_page(member: TestClient, corpus_engine: Engine) -> None:
    action, fields = form_fields(str(digest_block(member.get("/account"))), "form")
    member.post(action, data=fields)
    action, fields = form_fields(
        str(digest_block(member.get("/account"))), 'form[action="/account/digest/unsubscribe"]'
    )
    done = member.post(action, data=fields)
    found = subscriber(corpus_engine)
    assert found is not None and found.status == "unsubscribed"
    block = digest_block(done)
    assert "You are unsubscribed" in block.get_text()
    assert block.select_one("button").get_text(strip=True) == "Subscribe again"


def test_digest_actions_need_the_csrf_token_and_a_session(make_client: ClientFactory, member: TestClient) -> None:
    assert member.post("/account/digest/subscribe", data={}).status_code == 403
    anonymous = make_client()
    _action, fields = form_fields(anonymous.get("/subscribe").text, "main form")
    answer = anonymous.post("/account/digest/subscribe", data=fields, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/signin")


def test_the_banner_is_compact_hidden_for_subscribers_and_one_click_for_members(
    make_client: ClientFactory, member: TestClient
) -> None:
    anonymous = page(make_client().get("/"))
    assert len(anonymous.select(".subscribe-banner form input[type=email]")) == 1
    member_banner = page(member.get("/")).select_one(".subscribe-banner")
    assert member_banner is not None and member_banner.select("input[type=email]") == []
    action, fields = form_fields(str(member_banner), "form")
    assert action == "/account/digest/subscribe"
    member.post(action, data=fields)
    assert page(member.get("/")).select_one(".subscribe-banner") is None


def test_the_sign_in_pages_carry_one_email_form_and_no_banner(make_client: ClientFactory) -> None:
    signin = page(make_client().get("/signin"))
    assert signin.select_one(".subscribe-banner") is None
    assert len(signin.select("input[type=email]")) == 1


def test_the_search_page_has_one_search_box(make_client: ClientFactory) -> None:
    for path in ("/search", "/search?q=dynamics"):
        assert len(page(make_client().get(path)).select("input[type=search]")) == 1, path
    assert len(page(make_client().get("/")).select("input[type=search]")) == 1


def test_deleting_the_account_asks_first_then_erases_the_person_but_keeps_the_counts(
    member: TestClient, settings: Settings, corpus_engine: Engine
) -> None:
    action, fields = form_fields(member.get(f"/papers/{PAPER}").text, "form[data-vote-form]")
    member.post(action, data={**fields, "vote": "up"})
    action, fields = form_fields(str(digest_block(member.get("/account"))), "form")
    member.post(action, data=fields)
    with corpus_engine.connect() as conn:
        before = conn.execute(select(papers.c.community_upvotes).where(papers.c.arxiv_id == PAPER)).scalar_one()
    assert before == 1

    link = page(member.get("/account")).select_one('section#leave a[href="/account/delete"]')
    assert link is not None
    confirm = member.get("/account/delete")
    assert confirm.status_code == 200 and subscriber(corpus_engine) is not None  # GET deletes nothing
    action, fields = form_fields(confirm.text, 'main form[action="/account/delete"]')
    assert member.post(action, data={}).status_code == 403  # no CSRF token, nothing happens
    done = member.post(action, data=fields)
    assert done.status_code == 200 and done.url.path == "/account/deleted"
    assert "Your account is deleted" in done.text

    with corpus_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(users)).scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(votes)).scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(login_tokens)).scalar_one() == 0
        after = conn.execute(select(papers.c.community_upvotes).where(papers.c.arxiv_id == PAPER)).scalar_one()
    assert after == 1  # the upvote stays as an anonymous count
    assert subscriber(corpus_engine) is None
    assert member.get("/account", follow_redirects=False).status_code == 303  # signed out
