"""Hostile input never gets a 5xx (issue 9): bad queries, forged link ids, text that is not text, a locked database."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from fastapi._compat import ModelField
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, update

from papertide.config import Settings
from papertide.digest.tokens import sign_token
from papertide.domain.limits import MAX_ROW_ID
from papertide.store.schema import subscribers
from papertide.web.routes import ROUTERS
from tests.community_flow import ClientFactory, Clock, form_fields
from tests.search.test_search_cli import papertide_without_model
from tests.web.search_app import search_client
from tests.web.test_subscribe import NOW, add_confirmed, main_text, subscribe_from_banner

# Each analyses to no name token: the filter could match nothing, and dropping it would widen the search.
EMPTY_AUTHORS = ["author:-", "author:.", "author:😀", 'author:"- ."', "chaos author:-", "author:- cat:cs"]
SEARCH_PATHS = ["/search", "/api/v1/search", "/search.atom"]


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def app_client(make_client: ClientFactory) -> TestClient:
    return make_client()


def test_an_author_filter_without_letters_is_a_400_naming_the_filter_on_pages_api_and_feeds(
    settings: Settings, sqlite_engine: Engine
) -> None:
    with search_client(settings, sqlite_engine) as client:
        for query in EMPTY_AUTHORS:
            for path in SEARCH_PATHS:
                for mode in ("hybrid", "lexical", "semantic"):
                    response = client.get(path, params={"q": query, "mode": mode})
                    assert response.status_code == 400, (query, path, mode)
                    assert "has no letters or digits to match a name" in response.text


def test_the_cli_reports_an_author_filter_without_letters_as_invalid_syntax(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    result = papertide_without_model(data_dir, "search", "author:-")
    assert result.exit_code == 2
    assert "has no letters or digits" in result.stderr


def test_control_characters_in_a_query_are_a_400(settings: Settings, sqlite_engine: Engine) -> None:
    with search_client(settings, sqlite_engine) as client:
        for query in ("chaos\x00", "\x1b[31m", "a\x7fb"):
            for path in SEARCH_PATHS:
                response = client.get(path, params={"q": query})
                assert response.status_code == 400, (query, path)
                assert "control character" in response.text


def test_a_query_string_that_is_not_utf8_is_a_400_naming_the_parameter(app_client: TestClient) -> None:
    response = app_client.get("/api/v1/search?q=%ff%fe")
    assert response.status_code == 400
    assert response.json()["detail"] == "query parameter 'q' is not valid UTF-8 text"


# --- signed links --------------------------------------------------------------------------


def _forged(subscriber_id: str, settings: Settings) -> str:
    genuine = sign_token(settings.secret(), "unsubscribe", 4, "x@example.org", NOW)
    return ".".join([subscriber_id, *genuine.split(".")[1:]])


@pytest.mark.parametrize("subscriber_id", [str(2**63), str(2**63 - 1), str(2**31), "9" * 40])
@pytest.mark.parametrize(
    ("method", "prefix"),
    [
        ("GET", "/subscribe/confirm/"),
        ("POST", "/subscribe/confirm/"),
        ("GET", "/unsubscribe/"),
        ("POST", "/unsubscribe/"),
        ("GET", "/digest/preferences/"),
        ("POST", "/digest/preferences/"),
        ("GET", "/digest/preview/"),
    ],
)
def test_a_link_with_an_out_of_range_subscriber_id_is_an_invalid_link(
    app_client: TestClient, settings: Settings, subscriber_id: str, method: str, prefix: str
) -> None:
    response = app_client.request(method, prefix + _forged(subscriber_id, settings))
    assert response.status_code in (400, 403)
    if response.status_code == 400:
        assert "not valid" in main_text(response)


def test_an_unsubscribe_link_is_read_in_its_canonical_form_only(
    app_client: TestClient, settings: Settings, corpus_engine: Engine
) -> None:
    who = add_confirmed(corpus_engine, "reader@example.org")
    genuine = sign_token(settings.secret(), "unsubscribe", who.id, who.email, NOW)
    subscriber_id, issued, mac = genuine.split(".")
    variants = [f"0{genuine}", f"{subscriber_id}.+{issued}.{mac}", f"{subscriber_id}. {issued}.{mac}", f"+{genuine}"]
    for variant in variants:
        response = app_client.post("/unsubscribe/" + variant.replace(" ", "%20"))
        assert response.status_code == 400, variant
    assert app_client.post("/unsubscribe/" + genuine).status_code == 200


# --- text that is not text -------------------------------------------------------------------


def _post_json(client: TestClient, body: str) -> object:
    return client.post("/api/v1/subscriptions", content=body, headers={"content-type": "application/json"})


@pytest.mark.parametrize(
    "body",
    [
        '{"email": "\\ud800@x.com"}',
        '{"email": "reader@example.org", "topics": ["chaos \\ud800"]}',
        '{"email": "reader@example.org", "authors": ["\\udfff"]}',
        '{"email": "reader@example.org", "authors": ["Ada\\u0000Lovelace"]}',
        '{"email": "reader@example.org", "timezone": "UTC\\u0007"}',
    ],
)
def test_the_api_refuses_text_that_is_not_valid_unicode_with_a_422_and_stores_nothing(
    app_client: TestClient, corpus_engine: Engine, body: str
) -> None:
    response = _post_json(app_client, body)
    assert response.status_code == 422
    problem = response.json()
    assert set(problem) == {"detail", "errors"} and problem["errors"]
    with corpus_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(subscribers)).scalar_one() == 0


def test_the_validation_error_handler_survives_any_input(app_client: TestClient) -> None:
    # Bytes that are no JSON, a surrogate in a field name, a huge nesting: each a 422 in the one error shape.
    bodies = [b"\xff\xfe", json.dumps({"email": "a@b.c", "\ud800": 1}).encode(), b"[" * 5000]
    for body in bodies:
        response = app_client.post("/api/v1/subscriptions", content=body, headers={"content-type": "application/json"})
        assert response.status_code in (400, 422), body[:20]
        assert isinstance(response.json()["detail"], str)


def test_a_preferences_page_with_a_surrogate_stored_by_an_older_version_still_answers(
    app_client: TestClient, settings: Settings, corpus_engine: Engine
) -> None:
    who = add_confirmed(corpus_engine, "reader@example.org")
    # The JSON column keeps the escape, so a value accepted before this check reads back as a surrogate.
    with corpus_engine.begin() as conn:
        conn.execute(
            update(subscribers)
            .where(subscribers.c.id == who.id)
            .values(topics={"categories": [], "authors": ["Ada \ud800"], "topics": ["chaos \udfff"]})
        )
    path = "/digest/preferences/" + sign_token(settings.secret(), "manage", who.id, who.email, NOW)
    shown = app_client.get(path)
    assert shown.status_code == 200
    assert "chaos \ufffd" in shown.text
    action, fields = form_fields(shown.text, "main form")
    saved = app_client.post(action, data={**fields, "hour": "7", "topics": "chaos", "authors": "Ada Lovelace"})
    assert saved.status_code == 200 and "Your preferences are saved" in main_text(saved), main_text(saved)


# --- a database someone else holds -------------------------------------------------------


def test_a_write_behind_another_writers_lock_answers_503_with_retry_after(
    make_client: ClientFactory, settings: Settings, corpus_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A short busy timeout for this test's engine only; the lock is held until the answer came.
    monkeypatch.setattr("papertide.store.engine.SQLITE_BUSY_TIMEOUT_MS", 50)
    client = make_client()
    database = settings.database_url.removeprefix("sqlite:///")
    holder = sqlite3.connect(database, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        api = client.post("/api/v1/subscriptions", json={"email": "reader@example.org"})
        page = subscribe_from_banner(client, "other@example.org")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert api.status_code == 503 and api.headers["retry-after"] == "5"
    assert "database is busy" in api.json()["detail"]
    assert page.status_code == 503 and page.headers["retry-after"] == "5"
    assert "database is busy" in main_text(page)
    after = client.post("/api/v1/subscriptions", json={"email": "reader@example.org"})
    assert after.status_code == 202


def test_a_read_while_another_writer_holds_the_lock_still_answers(
    app_client: TestClient, settings: Settings, corpus_engine: Engine
) -> None:
    holder = sqlite3.connect(settings.database_url.removeprefix("sqlite:///"), isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        assert app_client.get("/api/v1/trending").status_code == 200
    finally:
        holder.execute("ROLLBACK")
        holder.close()


# --- ids beyond what the database holds ------------------------------------------------------


def _int_parameters(route: APIRoute) -> list[ModelField]:
    dependant = route.dependant
    fields = [*dependant.path_params, *dependant.query_params, *dependant.body_params]
    for sub in dependant.dependencies:
        fields.extend([*sub.path_params, *sub.query_params, *sub.body_params])
    return [field for field in fields if field.field_info.annotation in (int, int | None)]


def test_every_integer_a_route_reads_from_the_address_or_a_form_is_bounded_to_32_bits() -> None:
    unbounded, checked = [], 0
    for route in [route for router in ROUTERS for route in router.routes]:
        if not isinstance(route, APIRoute):
            continue
        for field in _int_parameters(route):
            checked += 1
            bounds = {type(item).__name__: item for item in field.field_info.metadata}
            high = getattr(bounds.get("Le"), "le", None)
            low = getattr(bounds.get("Ge"), "ge", None)
            if high is None or low is None or high > MAX_ROW_ID or low < 0:
                unbounded.append(f"{sorted(route.methods)} {route.path} {field.name}")
    assert checked >= 15  # collection, paper, comment, member and submission ids, pages, limits
    assert unbounded == []


@pytest.mark.parametrize("row_id", [str(2**63), str(2**31), "0", "-1"])
@pytest.mark.parametrize(
    "path",
    ["/api/v1/collections/{}", "/collections/{}", "/collections/{}/feed.atom"],
)
def test_an_id_beyond_the_database_range_is_refused_naming_it_not_a_server_error(
    app_client: TestClient, path: str, row_id: str
) -> None:
    response = app_client.get(path.format(row_id))
    machine = path.startswith("/api/") or path.endswith(".atom")
    # Machines get the ProblemOut 422; pages answer bad input with a 400 page (web/problems.py).
    assert response.status_code == (422 if machine else 400), response.text
    if machine:
        assert any("collection_id" in name for name in response.json()["errors"])
