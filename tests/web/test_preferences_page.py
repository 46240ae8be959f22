"""The digest preferences page (issue 10): a time-zone list, an Unsubscribe link, honest unsubscribed state."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from papertide.config import Settings
from papertide.digest.tokens import sign_token
from papertide.domain.subscribers import Preferences, Subscriber
from papertide.store.engine import begin_write
from papertide.store.subscribers import get_subscriber_by_email, insert_subscriber
from tests.community_flow import ClientFactory, Clock, form_fields

NOW = dt.datetime(2026, 8, 21, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


def page(response: Any) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


def add(engine: Engine, address: str, preferences: Preferences) -> Subscriber:
    with begin_write(engine) as conn:
        added = insert_subscriber(conn, address, preferences, status="confirmed", now=NOW - dt.timedelta(days=3))
    assert added is not None
    return added


def manage_path(client: TestClient, who: Subscriber) -> str:
    return f"/digest/preferences/{sign_token(client.app.state.secret, 'manage', who.id, who.email, NOW)}"  # type: ignore[attr-defined]


def test_the_time_zone_is_chosen_from_a_list_of_iana_zones(make_client: ClientFactory, corpus_engine: Engine) -> None:
    client = make_client()
    who = add(corpus_engine, "reader@example.org", Preferences(timezone="Asia/Tokyo"))
    shown = page(client.get(manage_path(client, who)))
    select = shown.select_one("select#pref-timezone[name=timezone]")
    assert select is not None and shown.select_one("input[name=timezone]") is None
    values = [option["value"] for option in select.select("option")]
    assert {"UTC", "Europe/Paris", "America/New_York"} <= set(values) and "US/Eastern" not in values
    assert select.select_one("option[selected]")["value"] == "Asia/Tokyo"
    assert select.get("data-detect") is None  # a zone someone chose is not replaced by the browser's
    script = shown.select_one('script[src$="/timezone.js"]')
    assert script is not None and not [s for s in shown.select("script") if s.string and s.string.strip()]
    assert client.get(script["src"]).status_code == 200


def test_the_default_zone_is_offered_for_browser_detection(
    make_client: ClientFactory, settings: Settings, corpus_engine: Engine
) -> None:
    client = make_client()
    who = add(corpus_engine, "new@example.org", Preferences(timezone=settings.digest_default_timezone))
    assert page(client.get(manage_path(client, who))).select_one("select#pref-timezone")["data-detect"] == "1"


def test_the_preferences_page_links_to_unsubscribe_and_afterwards_offers_to_subscribe_again(
    make_client: ClientFactory, corpus_engine: Engine
) -> None:
    client = make_client()
    who = add(corpus_engine, "reader@example.org", Preferences())
    path = manage_path(client, who)
    link = page(client.get(path)).select_one('main a[href^="/unsubscribe/"]')
    assert link is not None and link.get_text(strip=True) == "Unsubscribe"
    action, fields = form_fields(client.get(link["href"]).text, "main form")
    client.post(action, data=fields)
    with corpus_engine.connect() as conn:
        found = get_subscriber_by_email(conn, "reader@example.org")
    assert found is not None and found.status == "unsubscribed"

    after = page(client.get(path))
    text = " ".join(after.select_one("main").get_text().split())
    assert "save preferences, then" not in text and "This address is unsubscribed: no digest goes to it." in text
    assert after.select_one('main a[href^="/unsubscribe/"]') is None
    action, fields = form_fields(str(after), 'main form[action$="/undo"]')
    client.post(action, data=fields)
    with corpus_engine.connect() as conn:
        again = get_subscriber_by_email(conn, "reader@example.org")
    assert again is not None and again.status == "confirmed"


def test_the_preferences_form_submitted_unchanged_is_saved_and_changes_nothing(
    make_client: ClientFactory, corpus_engine: Engine
) -> None:
    client = make_client()
    chosen = Preferences(frequency="weekly", hour=18, timezone="Asia/Tokyo", size=12)
    who = add(corpus_engine, "reader@example.org", chosen)
    action, fields = form_fields(client.get(manage_path(client, who)).text, "main form")
    assert fields["timezone"] == "Asia/Tokyo" and fields["frequency"] == "weekly" and fields["hour"] == "18"
    saved = client.post(action, data=fields)
    assert saved.status_code == 200 and "Your preferences are saved" in saved.text, saved.text
    with corpus_engine.connect() as conn:
        found = get_subscriber_by_email(conn, "reader@example.org")
    assert found is not None and found.preferences == chosen
