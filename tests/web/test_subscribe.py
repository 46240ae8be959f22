"""The digest's pages and API through the real app: banner, double opt-in, preferences, one-click unsubscribe."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from papertide.config import Settings
from papertide.digest.job import run_digest
from papertide.digest.tokens import sign_token
from papertide.domain.models import Paper
from papertide.domain.subscribers import Preferences, Subscriber
from papertide.mail.transport import FileOutbox
from papertide.services import Services
from papertide.store.engine import begin_write
from papertide.store.papers import upsert_papers
from papertide.store.schema import digest_outbox, subscribers
from papertide.store.subscribers import get_subscriber_by_email, insert_subscriber
from papertide.web.app import create_app
from tests.community_flow import ClientFactory, Clock, form_fields, outbox_messages

NOW = dt.datetime(2026, 8, 21, 12, 0, tzinfo=dt.UTC)
CONFIRM_LINK = re.compile(r"http://testserver(/subscribe/confirm/\S+)")


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def app_client(make_client: ClientFactory) -> TestClient:
    return make_client()


def page(response: Any) -> BeautifulSoup:
    return BeautifulSoup(response if isinstance(response, str) else response.text, "html.parser")


def main_text(response: Any) -> str:
    main = page(response).select_one("main")
    assert main is not None
    return " ".join(main.get_text().split())


def subscribe_from_banner(client: TestClient, address: str) -> Any:
    action, fields = form_fields(client.get("/").text, "form.subscribe-form")
    assert action == "/subscribe"
    return client.post(action, data={**fields, "email": address})


def stored(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(subscribers)).scalar_one())


def subscriber(engine: Engine, address: str) -> Subscriber:
    with engine.connect() as conn:
        found = get_subscriber_by_email(conn, address)
    assert found is not None
    return found


def add_confirmed(engine: Engine, address: str) -> Subscriber:
    with begin_write(engine) as conn:
        added = insert_subscriber(conn, address, Preferences(), status="confirmed", now=NOW - dt.timedelta(days=3))
    assert added is not None
    return added


def token(settings: Settings, purpose: str, who: Subscriber, issued: dt.datetime = NOW) -> str:
    return sign_token(settings.secret(), purpose, who.id, who.email, issued)  # type: ignore[arg-type]


def test_the_banner_subscribes_through_a_confirmation_mail_and_a_button(
    app_client: TestClient, settings: Settings, corpus_engine: Engine
) -> None:
    sent = subscribe_from_banner(app_client, "Reader@Example.org")
    assert sent.status_code == 200
    assert "Check your inbox" in main_text(sent)
    [message] = outbox_messages(settings.outbox_dir)
    assert message["To"] == "reader@example.org"
    assert subscriber(corpus_engine, "reader@example.org").status == "pending"
    body = message.get_body(("plain",))
    assert body is not None
    found = CONFIRM_LINK.search(body.get_content())
    assert found is not None
    opened = app_client.get(found.group(1))
    assert opened.status_code == 200 and opened.headers["referrer-policy"] == "no-referrer"
    assert subscriber(corpus_engine, "reader@example.org").status == "pending", "opening a link changes nothing"
    action, fields = form_fields(opened.text, "main form")
    confirmed = app_client.post(action, data=fields, follow_redirects=False)
    assert confirmed.status_code == 303 and confirmed.headers["location"].startswith("/digest/preferences/")
    welcome = app_client.get(confirmed.headers["location"])
    assert "You are subscribed" in main_text(welcome)
    assert subscriber(corpus_engine, "reader@example.org").status == "confirmed"


def test_subscribing_without_a_csrf_token_is_refused(app_client: TestClient, corpus_engine: Engine) -> None:
    response = app_client.post("/subscribe", data={"email": "reader@example.org"})
    assert response.status_code == 403
    assert stored(corpus_engine) == 0


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("not an address", "is not a valid address"),
        ("reader@example.org\r\nBcc: victim@example.org", "single line"),
        ("", "enter an email address"),
    ],
)
def test_bad_addresses_get_a_clear_message_and_nothing_is_stored_or_sent(
    app_client: TestClient, settings: Settings, corpus_engine: Engine, address: str, expected: str
) -> None:
    response = subscribe_from_banner(app_client, address)
    assert response.status_code == 400
    assert expected in main_text(response)
    assert stored(corpus_engine) == 0 and outbox_messages(settings.outbox_dir) == []


def test_the_answer_does_not_reveal_whether_an_address_subscribes(
    app_client: TestClient, corpus_engine: Engine
) -> None:
    add_confirmed(corpus_engine, "known@example.org")
    known = subscribe_from_banner(app_client, "known@example.org")
    unknown = subscribe_from_banner(app_client, "unknown@example.org")
    assert known.status_code == unknown.status_code == 200
    assert main_text(known) == main_text(unknown)


def test_the_api_subscribes_with_double_opt_in_and_optional_preferences(
    app_client: TestClient, settings: Settings, corpus_engine: Engine
) -> None:
    response = app_client.post(
        "/api/v1/subscriptions",
        json={"email": "api@example.org", "timezone": "Europe/Paris", "hour": 6, "topics": ["neural ODEs"]},
    )
    assert response.status_code == 202 and response.json()["status"] == "accepted"
    added = subscriber(corpus_engine, "api@example.org")
    assert added.status == "pending"
    assert (added.preferences.timezone, added.preferences.hour) == ("Europe/Paris", 6)
    assert added.preferences.topics.phrases == ("neural ODEs",)
    assert len(outbox_messages(settings.outbox_dir)) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "nobody"}, "email"),
        ({"email": "api@example.org", "timezone": "Moon/Tranquility"}, "timezone"),
        ({"email": "api@example.org", "topics": ["neural ODEs\r\nBcc: victim@example.org"]}, "topics"),
        ({"email": "api@example.org", "size": 100}, "size"),
    ],
)
def test_the_api_names_the_bad_field_and_stores_nothing(
    app_client: TestClient, settings: Settings, corpus_engine: Engine, body: dict[str, Any], field: str
) -> None:
    response = app_client.post("/api/v1/subscriptions", json=body)
    assert response.status_code == 422
    assert field in response.json()["errors"]
    assert stored(corpus_engine) == 0 and outbox_messages(settings.outbox_dir) == []


def test_the_api_does_not_take_form_posts_from_other_sites(app_client: TestClient, corpus_engine: Engine) -> None:
    response = app_client.post("/api/v1/subscriptions", data={"email": "api@example.org"})
    assert response.status_code == 422
    assert stored(corpus_engine) == 0


def test_the_preferences_page_saves_good_input_and_explains_bad_input(
    app_client: TestClient, settings: Settings, corpus_engine: Engine
) -> None:
    who = add_confirmed(corpus_engine, "reader@example.org")
    path = f"/digest/preferences/{token(settings, 'manage', who)}"
    shown = app_client.get(path)
    assert shown.status_code == 200 and shown.headers["cache-control"] == "no-store"
    action, fields = form_fields(shown.text, "main form")
    fields.update(
        frequency="weekly",
        hour="18",
        timezone="America/Chicago",
        size="12",
        topics="neural ODEs, chaos",
        categories="math.DS",
    )
    saved = app_client.post(action, data=fields)
    assert saved.status_code == 200 and "Your preferences are saved" in main_text(saved)
    preferences = subscriber(corpus_engine, "reader@example.org").preferences
    assert (preferences.frequency, preferences.hour, preferences.timezone, preferences.size) == (
        "weekly",
        18,
        "America/Chicago",
        12,
    )
    assert preferences.topics.phrases == ("neural ODEs", "chaos")
    bad = app_client.post(action, data={**fields, "timezone": "Nowhere/Else", "size": "2", "topics": "x\r\nBcc: y"})
    assert bad.status_code == 400
    errors = {str(p.get("id")) for p in page(bad).select("p.error-message[id]")}
    assert errors == {"timezone-error", "size-error", "topics-error"}
    assert "unknown time zone 'Nowhere/Else'" in main_text(bad)
    assert subscriber(corpus_engine, "reader@example.org").preferences == preferences


def test_forged_and_expired_links_get_a_clear_page(
    app_client: TestClient, settings: Settings, corpus_engine: Engine
) -> None:
    who = add_confirmed(corpus_engine, "reader@example.org")
    forged = sign_token("guessed-secret", "manage", who.id, who.email, NOW)
    for path in (f"/digest/preferences/{forged}", "/digest/preferences/1.2.3", f"/unsubscribe/{forged}"):
        response = app_client.get(path)
        assert response.status_code == 400, path
        assert "This link does not work" in main_text(response)
    old = token(settings, "manage", who, NOW - dt.timedelta(days=91))
    expired = app_client.get(f"/digest/preferences/{old}")
    assert expired.status_code == 410 and "expired" in main_text(expired)
    assert app_client.get("/digest/preferences/" + "x" * 300).status_code == 400


def test_opening_the_unsubscribe_link_asks_first(
    app_client: TestClient, settings: Settings, corpus_engine: Engine
) -> None:
    who = add_confirmed(corpus_engine, "reader@example.org")
    opened = app_client.get(f"/unsubscribe/{token(settings, 'unsubscribe', who)}")
    assert opened.status_code == 200
    assert page(opened).select_one("main form button") is not None
    assert subscriber(corpus_engine, "reader@example.org").status == "confirmed"


def test_one_click_unsubscribe_from_the_mail_client_needs_no_cookie_and_repeats_harmlessly(
    settings: Settings, corpus_engine: Engine, clock: Clock
) -> None:
    who = add_confirmed(corpus_engine, "reader@example.org")
    path = f"/unsubscribe/{token(settings, 'unsubscribe', who, NOW - dt.timedelta(days=500))}"
    app = create_app(settings)
    app.state.clock = clock
    with TestClient(app) as mail_client:
        first = mail_client.post(path, data={"List-Unsubscribe": "One-Click"})
        second = mail_client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert first.status_code == second.status_code == 200
    assert subscriber(corpus_engine, "reader@example.org").status == "unsubscribed"


def test_an_unsubscribe_can_be_undone_from_the_page_it_leads_to(
    app_client: TestClient, settings: Settings, corpus_engine: Engine
) -> None:
    who = add_confirmed(corpus_engine, "reader@example.org")
    path = f"/unsubscribe/{token(settings, 'unsubscribe', who)}"
    action, fields = form_fields(app_client.get(path).text, "main form")
    done = app_client.post(action, data=fields)
    assert "You are unsubscribed" in main_text(done)
    undo_action, undo_fields = form_fields(done.text, "main form")
    undone = app_client.post(undo_action, data=undo_fields)
    assert "subscribed again" in main_text(undone)
    assert subscriber(corpus_engine, "reader@example.org").status == "confirmed"


def test_a_digest_links_to_working_pages_and_its_list_unsubscribe_header_unsubscribes(
    app_client: TestClient, settings: Settings, corpus_engine: Engine, tmp_path: Path
) -> None:
    with begin_write(corpus_engine) as conn:
        upsert_papers(
            conn,
            [
                Paper(
                    arxiv_id="2608.00001",
                    title="Learning chaotic dynamics",
                    abstract="We learn flows.",
                    listed_on=dt.date(2026, 8, 21),
                    external_upvotes=9,
                )
            ],
            NOW,
        )
    add_confirmed(corpus_engine, "reader@example.org")
    outbox = tmp_path / "digests"
    services: Services = app_client.app.state.services  # type: ignore[attr-defined]
    composer = services.new_composer()
    run_digest(corpus_engine, lambda: FileOutbox(outbox), composer, now=NOW, clock=lambda: NOW)
    [digest] = outbox_messages(outbox)
    html = digest.get_body(("html",))
    assert html is not None
    links = [a["href"] for a in page(html.get_content()).select("a")]
    paper = next(link for link in links if "/papers/" in link)
    assert app_client.get(paper.removeprefix("http://testserver")).status_code == 200
    preferences = next(link for link in links if "/digest/preferences/" in link)
    assert app_client.get(preferences.removeprefix("http://testserver")).status_code == 200
    unsubscribe = re.search(r"<(http://testserver/unsubscribe/[^>]+)>", str(digest["List-Unsubscribe"]))
    assert unsubscribe is not None and digest["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    response = app_client.post(
        unsubscribe.group(1).removeprefix("http://testserver"), data={"List-Unsubscribe": "One-Click"}
    )
    assert response.status_code == 200
    assert subscriber(corpus_engine, "reader@example.org").status == "unsubscribed"


def test_the_preview_shows_the_next_digest_and_neither_stores_nor_sends_it(
    app_client: TestClient, settings: Settings, corpus_engine: Engine
) -> None:
    with begin_write(corpus_engine) as conn:
        upsert_papers(
            conn,
            [
                Paper(
                    arxiv_id="2608.00002",
                    title="A fresh preprint",
                    abstract="Fresh.",
                    listed_on=dt.date(2026, 8, 21),
                    external_upvotes=3,
                )
            ],
            NOW,
        )
    who = add_confirmed(corpus_engine, "reader@example.org")
    preview = app_client.get(f"/digest/preview/{token(settings, 'manage', who)}")
    assert preview.status_code == 200
    assert [h.get_text() for h in page(preview).select("h2")] == ["A fresh preprint"]
    with corpus_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(digest_outbox)).scalar_one() == 0
    assert outbox_messages(settings.outbox_dir) == []


def test_an_empty_preview_says_why_and_offers_a_confirmed_subscriber_no_subscribe_again(
    make_client: ClientFactory, settings: Settings, corpus_engine: Engine
) -> None:
    # Years after the corpus: nothing was listed in the look-back.
    later = NOW + dt.timedelta(days=3650)
    client = make_client(now=later)
    who = add_confirmed(corpus_engine, "reader@example.org")
    preview = client.get(f"/digest/preview/{token(settings, 'manage', who, later)}")
    assert preview.status_code == 200
    text = main_text(preview)
    assert "No papers were listed in the last" in text and "since your last digest" not in text
    links = [a.get_text() for a in page(preview).select("main a")]
    assert "Subscribe again" not in links and "Your preferences" in links
