"""Submitting papers through /submit and the API, against a local server answering as arXiv does."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine

from papertide.config import Settings
from papertide.domain.accounts import Role
from tests.community_flow import ClientFactory
from tests.ingest.ingest_server import Answer, FeedServer, recorded_entries, running_server
from tests.ingest.test_submission import by_id
from tests.web.members import csrf, page, post_form, signed_in

NOW = dt.datetime(2015, 1, 28, 10, 0, tzinfo=dt.UTC)
TODAY = "2015-01-28"


@pytest.fixture
def arxiv() -> Iterator[FeedServer]:
    with running_server() as server:
        yield server


@pytest.fixture
def submitting(make_client: ClientFactory, arxiv: FeedServer) -> Any:
    """Clients on 28 Jan 2015 whose arXiv API is the local server, with no waits between requests."""

    def build(**overrides: Any) -> Any:
        return make_client(
            now=NOW,
            ingest_arxiv_api_url=f"{arxiv.url}/api/query",
            ingest_request_spacing_s=0,
            ingest_backoff_s=0,
            # No embedding model in the tests (it would be looked for online): new papers are found by words.
            search_embed_batch_limit=0,
            **overrides,
        )

    return build


def arxiv_title() -> str:
    """The title of the recorded 1501.05039, as a words-only query."""
    entry = next(e for e in recorded_entries() if "abs/1501.05039v" in e)
    return " ".join(entry.split("<title>", 1)[1].split("</title>", 1)[0].split())


def submit(client: Any, value: str) -> Any:
    return post_form(client, "/submit", "#submit-form", arxiv_id=value)


def test_a_new_paper_is_listed_today_with_submitted_by_and_found_by_search_at_once(
    submitting: Any, arxiv: FeedServer, app_engine: Engine, settings: Settings
) -> None:
    arxiv.route("/api/query", by_id)
    client = submitting()
    signed_in(client, app_engine, settings.outbox_dir, "ada")

    done = submit(client, "https://arxiv.org/abs/1501.05039v1")
    assert done.status_code == 200
    outcome = page(done).select_one(".submit-outcome")
    assert outcome is not None and outcome["data-rule"] == "listed-new"
    assert outcome.select_one("a[href='/papers/1501.05039']") is not None

    day = page(client.get(f"/papers/date/{TODAY}"))
    card = day.select_one(".paper-item .submitted-by a")
    assert card is not None and card["href"] == "/u/ada" and card.get_text() == "Ada"
    paper = page(client.get("/papers/1501.05039"))
    assert paper.select_one(".submitted-by a[href='/u/ada']") is not None
    assert paper.select_one("form[action^='/submissions/']") is None  # only moderators remove
    found = client.get("/api/v1/search", params={"q": arxiv_title(), "mode": "lexical"}).json()
    assert [hit["arxiv_id"] for hit in found["results"]][:1] == ["1501.05039"]  # indexed at once
    api = client.get("/api/v1/papers/1501.05039").json()
    assert api["submitted_by"] == {"handle": "ada", "display_name": "Ada", "url": "/u/ada", "listed_on": TODAY}
    assert api["upvotes"] >= 1  # the submission counts as the submitter's upvote

    again = page(submit(client, "arXiv:1501.05039"))
    assert again.select_one(".submit-outcome")["data-rule"] == "already-today"
    assert "already" in again.select_one(".submit-outcome").get_text()

    old = page(submit(client, "quant-ph/0210005"))
    assert old.select_one(".submit-outcome")["data-rule"] == "too-old"


@pytest.mark.parametrize(
    ("answer", "value", "status", "words"),
    [
        (None, "not an id", 422, "arxiv_id"),
        (by_id, "2501.99999", 404, "2501.99999"),
        (Answer(b"Service Unavailable", status=503, content_type="text/plain"), "1501.05039", 503, "arXiv"),
    ],
)
def test_a_failed_submission_shows_the_reason_and_keeps_the_value(
    submitting: Any,
    arxiv: FeedServer,
    app_engine: Engine,
    settings: Settings,
    answer: Any,
    value: str,
    status: int,
    words: str,
) -> None:
    arxiv.route("/api/query", answer or by_id)
    client = submitting()
    signed_in(client, app_engine, settings.outbox_dir, "ada")
    refused = submit(client, value)
    assert refused.status_code == status
    shown = page(refused)
    assert words in shown.select_one("#submit-error").get_text()
    assert shown.select_one("#submit-id")["value"] == value
    assert client.get("/papers/1501.05039").status_code == 404  # nothing half-stored


def test_the_daily_limit_answers_429_with_a_sentence(
    submitting: Any, arxiv: FeedServer, app_engine: Engine, settings: Settings
) -> None:
    arxiv.route("/api/query", by_id)
    client = submitting(submit_per_member_per_day=1)
    signed_in(client, app_engine, settings.outbox_dir, "ada")
    assert submit(client, "1501.05039").status_code == 200
    refused = submit(client, "1503.01162")
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
    assert "submissions" in page(refused).select_one("#submit-error").get_text()


def test_a_moderator_removes_a_submission_from_the_paper_page(
    submitting: Any, arxiv: FeedServer, app_engine: Engine, settings: Settings
) -> None:
    arxiv.route("/api/query", by_id)
    member, moderator = submitting(), submitting()
    signed_in(member, app_engine, settings.outbox_dir, "ada")
    signed_in(moderator, app_engine, settings.outbox_dir, "mod", role=Role.MODERATOR)
    submit(member, "1501.05039")

    removed = post_form(moderator, "/papers/1501.05039", "form[action^='/submissions/']")
    assert removed.status_code == 303
    assert page(member.get("/papers/1501.05039")).select_one(".submitted-by") is None
    assert member.get("/api/v1/papers/1501.05039").json()["submitted_by"] is None
    token = csrf(member)
    assert member.post("/submissions/1/remove", data={"csrf_token": token}).status_code == 403


def test_the_submissions_api_says_which_rule_applied(
    submitting: Any, arxiv: FeedServer, app_engine: Engine, settings: Settings
) -> None:
    arxiv.route("/api/query", by_id)
    client, stranger = submitting(), submitting()
    signed_in(client, app_engine, settings.outbox_dir, "ada")
    headers = {"X-CSRF-Token": csrf(client)}
    made = client.post("/api/v1/submissions", json={"arxiv_id": "1501.05039"}, headers=headers)
    assert made.status_code == 200
    assert made.json()["rule"] == "listed-new" and made.json()["listed_on"] == TODAY
    assert client.post("/api/v1/submissions", json={"arxiv_id": "1501.05039"}).status_code == 403  # no CSRF header
    signed_out = stranger.post("/api/v1/submissions", json={"arxiv_id": "1"}, headers={"X-CSRF-Token": csrf(stranger)})
    assert signed_out.status_code == 401
    bad = client.post("/api/v1/submissions", json={"arxiv_id": "nonsense"}, headers=headers)
    assert bad.status_code == 422 and bad.json()["field"] == "arxiv_id"
