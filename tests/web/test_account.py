"""Sign-in by emailed link, sessions, CSRF and rate limits, through the real app and the file outbox."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from papertide.config import Settings
from papertide.store.schema import login_tokens, users
from tests.community_flow import Clock, form_fields, local_path, outbox_messages, request_link, sign_in, signin_link

NOW = dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


def _page(response: Any) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


def test_sign_in_end_to_end_through_the_outbox(make_client: Callable[..., TestClient], settings: Settings) -> None:
    client = make_client()
    assert client.get("/account", follow_redirects=False).headers["location"] == "/signin?next=%2Faccount"

    sent = request_link(client, "Ada@Example.org")
    assert sent.status_code == 200
    assert "ada@example.org" in _page(sent).select_one("main").get_text()

    [message] = outbox_messages(settings.outbox_dir)
    assert message["To"] == "ada@example.org"
    assert message["Subject"] == "Your sign-in link for papertide"
    assert message.get_body(preferencelist=("html",)) is not None
    link = signin_link(message)
    assert link.startswith("http://testserver/signin/link?token=")

    confirm = client.get(local_path(link))
    assert confirm.status_code == 200
    assert confirm.headers["referrer-policy"] == "no-referrer" and confirm.headers["cache-control"] == "no-store"
    assert "papertide_session" not in client.cookies  # opening the link changes nothing
    action, fields = form_fields(confirm.text, "main form")
    assert action == "/signin/link"
    done = client.post(action, data=fields, follow_redirects=False)
    # A first sign-in asks for a handle and display name, then goes on to the account page (issue 11).
    assert done.status_code == 303 and done.headers["location"] == "/account/profile?next=/account"
    cookie = done.headers["set-cookie"]
    assert "papertide_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie

    account = _page(client.get("/account"))
    assert "ada@example.org" in account.select_one("main").get_text()
    assert account.select_one('nav.site-nav a[href="/account"]') is not None


def test_the_session_cookie_is_secure_under_https(make_client: Callable[..., TestClient], settings: Settings) -> None:
    client = make_client(base_url="https://testserver")
    request_link(client, "grace@example.org")
    link = signin_link(outbox_messages(settings.outbox_dir)[-1])
    _action, fields = form_fields(client.get(local_path(link)).text, "main form")
    done = client.post("/signin/link", data=fields, follow_redirects=False)
    assert "Secure" in done.headers["set-cookie"]


def test_a_replayed_link_explains_itself_and_offers_a_new_one(
    make_client: Callable[..., TestClient], settings: Settings
) -> None:
    client = make_client()
    request_link(client, "ada@example.org")
    link = local_path(signin_link(outbox_messages(settings.outbox_dir)[-1]))
    _action, fields = form_fields(client.get(link).text, "main form")
    assert client.post("/signin/link", data=fields, follow_redirects=False).status_code == 303

    for replay in (client.get(link), client.post("/signin/link", data=fields)):
        assert replay.status_code == 410
        page = _page(replay)
        assert "already used" in page.select_one("h1").get_text()
        action, offered = form_fields(replay.text, "main form")
        assert action == "/signin" and offered["email"] == "ada@example.org"


def test_an_expired_link_explains_itself_and_a_new_one_works(
    make_client: Callable[..., TestClient], settings: Settings, clock: Clock
) -> None:
    client = make_client()
    request_link(client, "ada@example.org")
    link = local_path(signin_link(outbox_messages(settings.outbox_dir)[-1]))
    clock.now = NOW + dt.timedelta(minutes=15, seconds=1)

    expired = client.get(link)
    assert expired.status_code == 410
    assert "expired" in _page(expired).select_one("h1").get_text()
    action, fields = form_fields(expired.text, "main form")
    again = client.post(action, data=fields)
    assert again.status_code == 200
    fresh = local_path(signin_link(outbox_messages(settings.outbox_dir)[-1]))
    assert fresh != link
    _action, confirm = form_fields(client.get(fresh).text, "main form")
    assert client.post("/signin/link", data=confirm, follow_redirects=False).status_code == 303


def test_a_link_used_just_before_it_expires_still_signs_in(
    make_client: Callable[..., TestClient], settings: Settings, clock: Clock
) -> None:
    client = make_client()
    request_link(client, "ada@example.org")
    link = local_path(signin_link(outbox_messages(settings.outbox_dir)[-1]))
    _action, fields = form_fields(client.get(link).text, "main form")
    clock.now = NOW + dt.timedelta(minutes=14, seconds=59)
    assert client.post("/signin/link", data=fields, follow_redirects=False).status_code == 303


def test_a_forged_link_is_refused_and_offers_a_new_one(make_client: Callable[..., TestClient]) -> None:
    client = make_client()
    for path in ("/signin/link?token=not-a-real-token", "/signin/link"):
        response = client.get(path)
        assert response.status_code == 400
        assert "does not work" in _page(response).select_one("h1").get_text()
        assert form_fields(response.text, "main form")[0] == "/signin"


def test_a_post_without_a_valid_csrf_token_is_refused_with_a_403_page(
    make_client: Callable[..., TestClient], settings: Settings
) -> None:
    client = make_client()
    _action, fields = form_fields(client.get("/signin").text, "form.stack-form")
    fields["email"] = "ada@example.org"
    for forged in ({k: v for k, v in fields.items() if k != "csrf_token"}, {**fields, "csrf_token": "forged"}):
        response = client.post("/signin", data=forged)
        assert response.status_code == 403
        assert "did not come from this site" in _page(response).select_one("main").get_text()
    # A token from another browser does not match this browser's cookie.
    other = make_client()
    _other_action, their_fields = form_fields(other.get("/signin").text, "form.stack-form")
    response = client.post("/signin", data={**fields, "csrf_token": their_fields["csrf_token"]})
    assert response.status_code == 403
    # A JSON caller gets JSON.
    response = client.post("/signin", data={"email": "x@example.org"}, headers={"accept": "application/json"})
    assert response.status_code == 403 and "detail" in response.json()
    assert outbox_messages(settings.outbox_dir) == []


def test_the_csrf_cookie_is_httponly_and_lax(make_client: Callable[..., TestClient]) -> None:
    response = make_client().get("/signin")
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("papertide_csrf=") and "HttpOnly" in cookie and "SameSite=lax" in cookie


def test_state_changes_only_happen_on_post(make_client: Callable[..., TestClient], settings: Settings) -> None:
    client = make_client()
    sign_in(client, "ada@example.org", settings.outbox_dir)
    assert client.get("/signout").status_code == 405
    assert client.get("/account/signout-everywhere").status_code == 405
    assert client.get("/papers/2608.16887/vote").status_code in (404, 405)
    assert client.get("/account").status_code == 200  # still signed in

    _action, fields = form_fields(client.get("/account").text, 'form[action="/signout"]')
    assert client.post("/signout", data=fields, follow_redirects=False).status_code == 303
    assert client.get("/account", follow_redirects=False).status_code == 303


def test_sign_out_everywhere_ends_sessions_on_other_browsers(
    make_client: Callable[..., TestClient], settings: Settings
) -> None:
    laptop, phone = make_client(), make_client()
    sign_in(laptop, "ada@example.org", settings.outbox_dir)
    sign_in(phone, "ada@example.org", settings.outbox_dir)
    _action, fields = form_fields(laptop.get("/account").text, 'form[action="/account/signout-everywhere"]')
    assert laptop.post("/account/signout-everywhere", data=fields, follow_redirects=False).status_code == 303
    assert phone.get("/account", follow_redirects=False).status_code == 303
    assert laptop.get("/account", follow_redirects=False).status_code == 303


def test_a_tampered_session_cookie_counts_as_signed_out(
    make_client: Callable[..., TestClient], settings: Settings
) -> None:
    client = make_client()
    sign_in(client, "ada@example.org", settings.outbox_dir)
    value = client.cookies["papertide_session"]
    client.cookies.clear()
    client.cookies.set("papertide_session", value[:-2] + ("AA" if not value.endswith("AA") else "BB"))
    assert client.get("/account", follow_redirects=False).status_code == 303


def test_sign_in_mails_are_limited_per_address_with_a_clear_message(
    make_client: Callable[..., TestClient], settings: Settings, clock: Clock
) -> None:
    client = make_client(signin_mails_per_address=2, signin_rate_window_minutes=60)
    assert request_link(client, "ada@example.org").status_code == 200
    clock.now = NOW + dt.timedelta(minutes=10)
    assert request_link(client, "ADA@example.org").status_code == 200
    refused = request_link(client, "ada@example.org")
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == str(50 * 60)
    alert = _page(refused).select_one("[role=alert]").get_text()
    assert "this address" in alert and "50 minutes" in alert
    assert len(outbox_messages(settings.outbox_dir)) == 2
    assert request_link(client, "grace@example.org").status_code == 200  # other addresses are unaffected
    clock.now = NOW + dt.timedelta(minutes=60, seconds=1)
    assert request_link(client, "ada@example.org").status_code == 200  # the first mail left the window


def test_sign_in_mails_are_limited_per_client(make_client: Callable[..., TestClient], settings: Settings) -> None:
    client = make_client(signin_mails_per_client=3)
    for number in range(3):
        assert request_link(client, f"reader{number}@example.org").status_code == 200
    refused = request_link(client, "reader9@example.org")
    assert refused.status_code == 429
    assert "your network" in _page(refused).select_one("[role=alert]").get_text()
    assert len(outbox_messages(settings.outbox_dir)) == 3


def test_an_invalid_address_is_explained_and_nothing_is_sent(
    make_client: Callable[..., TestClient], settings: Settings, corpus_engine: Engine
) -> None:
    client = make_client()
    for bad in ("not-an-address", "ada@", "a\r\nBcc: victim@example.org@example.org", ""):
        response = request_link(client, bad)
        assert response.status_code == 400
        assert "does not look right" in _page(response).select_one("[role=alert]").get_text()
    assert outbox_messages(settings.outbox_dir) == []
    with corpus_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(login_tokens)).scalar_one() == 0


def test_accounts_are_created_on_first_use_of_a_link_only(
    make_client: Callable[..., TestClient], settings: Settings, corpus_engine: Engine
) -> None:
    client = make_client()
    request_link(client, "ada@example.org")
    with corpus_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(users)).scalar_one() == 0
    sign_in(client, "ada@example.org", settings.outbox_dir)
    sign_in(client, "ada@example.org", settings.outbox_dir)
    with corpus_engine.connect() as conn:
        assert conn.execute(select(users.c.email)).scalars().all() == ["ada@example.org"]
    with corpus_engine.connect() as conn:
        hashes = conn.execute(select(login_tokens.c.token_hash)).scalars().all()
    link = signin_link(outbox_messages(settings.outbox_dir)[0])
    assert all(value not in link for value in hashes)  # only hashes are stored


def test_the_next_page_is_kept_but_other_sites_are_not(
    make_client: Callable[..., TestClient], settings: Settings
) -> None:
    client = make_client()
    for wanted, expected in (
        ("/papers/month/2026-08", "/papers/month/2026-08"),
        ("//evil.example/x", "/account"),
        ("https://evil.example/", "/account"),
    ):
        _action, fields = form_fields(client.get("/signin", params={"next": wanted}).text, "form.stack-form")
        fields["email"] = "ada@example.org"
        client.post("/signin", data=fields)
        link = local_path(signin_link(outbox_messages(settings.outbox_dir)[-1]))
        _action, confirm = form_fields(client.get(link).text, "main form")
        done = client.post("/signin/link", data=confirm, follow_redirects=False)
        assert done.headers["location"] == f"/account/profile?next={expected}"  # no handle yet: the form first
