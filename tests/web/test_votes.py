"""Upvotes: the plain form, the JSON answer fetch() gets, uniqueness under concurrent requests."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from papertide.config import Settings
from papertide.store.engine import make_engine
from papertide.store.schema import papers, votes
from papertide.web.app import create_app
from tests.community_flow import (
    Clock,
    form_fields,
    live_client,
    local_path,
    outbox_messages,
    serve_app,
    sign_in,
    signin_link,
)
from tests.corpus import load_small_corpus

PAPER = "2608.16887"  # 17 imported upvotes in tests/data/papers_small.jsonl
IMPORTED = 17


def _vote_button(html: str) -> Any:
    button = BeautifulSoup(html, "html.parser").select_one("form[data-vote-form] button[name=vote]")
    assert button is not None
    return button


def _count_on_page(client: TestClient, path: str = f"/papers/{PAPER}") -> int:
    return int(_vote_button(client.get(path).text).select_one("[data-vote-count]").get_text())


def _stored(engine: Engine, arxiv_id: str = PAPER) -> tuple[int, int]:
    """(rows in votes, cached community_upvotes) for the paper."""
    with engine.connect() as conn:
        paper_id, cached = conn.execute(
            select(papers.c.id, papers.c.community_upvotes).where(papers.c.arxiv_id == arxiv_id)
        ).one()
        rows = conn.execute(select(func.count()).select_from(votes).where(votes.c.paper_id == paper_id)).scalar_one()
    return int(rows), int(cached)


def test_the_plain_form_upvotes_and_takes_the_upvote_back(
    make_client: Callable[..., TestClient], settings: Settings, corpus_engine: Engine
) -> None:
    client = make_client()
    sign_in(client, "ada@example.org", settings.outbox_dir)
    page = client.get("/papers/month/2026-08")
    action, fields = form_fields(page.text, f'form[action="/papers/{PAPER}/vote"]')
    assert fields["next"] == "/papers/month/2026-08"
    button = _vote_button(client.get(f"/papers/{PAPER}").text)
    assert button["aria-pressed"] == "false" and button["value"] == "up"

    done = client.post(action, data={**fields, "vote": "up"}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"].startswith("/papers/month/2026-08#paper-")
    assert _count_on_page(client) == IMPORTED + 1
    assert _vote_button(client.get(f"/papers/{PAPER}").text)["aria-pressed"] == "true"
    assert _stored(corpus_engine) == (1, 1)

    client.post(action, data={**fields, "vote": "up"})  # a resubmitted form changes nothing
    assert _stored(corpus_engine) == (1, 1)
    client.post(action, data={**fields, "vote": "down"})
    assert _count_on_page(client) == IMPORTED and _stored(corpus_engine) == (0, 0)
    client.post(action, data={**fields, "vote": "down"})
    assert _stored(corpus_engine) == (0, 0)


def test_fetch_gets_the_new_count_as_json(make_client: Callable[..., TestClient], settings: Settings) -> None:
    client = make_client()
    sign_in(client, "ada@example.org", settings.outbox_dir)
    action, fields = form_fields(client.get(f"/papers/{PAPER}").text, "form[data-vote-form]")
    fields.pop("vote", None)
    answer = client.post(action, data=fields, headers={"accept": "application/json"})
    assert answer.json() == {"arxiv_id": PAPER, "voted": True, "changed": True, "upvotes": IMPORTED + 1}
    again = client.post(action, data=fields, headers={"accept": "application/json"})  # no `vote`: toggles
    assert again.json() == {"arxiv_id": PAPER, "voted": False, "changed": True, "upvotes": IMPORTED}


def test_counts_include_community_votes_on_every_list(
    make_client: Callable[..., TestClient], settings: Settings
) -> None:
    client = make_client()
    sign_in(client, "ada@example.org", settings.outbox_dir)
    action, fields = form_fields(client.get(f"/papers/{PAPER}").text, "form[data-vote-form]")
    client.post(action, data={**fields, "vote": "up"})
    for path in ("/", "/papers/date/2026-08-18", "/papers/week/2026-W34", "/papers/month/2026-08", "/account"):
        html = client.get(path).text
        form = BeautifulSoup(html, "html.parser").select_one(f'form[action="/papers/{PAPER}/vote"]')
        assert form is not None, path
        assert form.select_one("[data-vote-count]").get_text() == str(IMPORTED + 1), path
        assert form.select_one("button")["aria-pressed"] == "true", path
    api = client.get("/api/v1/trending", params={"period": "day", "date": "2026-08-18"}).json()
    entry = next(paper for paper in api["papers"] if paper["arxiv_id"] == PAPER)
    assert (entry["upvotes"], entry["community_upvotes"]) == (IMPORTED + 1, 1)


def test_the_account_page_lists_what_the_user_upvoted(
    make_client: Callable[..., TestClient], settings: Settings, clock: Clock
) -> None:
    client = make_client()
    sign_in(client, "ada@example.org", settings.outbox_dir)
    assert "not upvoted any papers" in client.get("/account").text
    for arxiv_id in (PAPER, "2607.07820"):
        action, fields = form_fields(client.get(f"/papers/{arxiv_id}").text, "form[data-vote-form]")
        client.post(action, data={**fields, "vote": "up"})
        clock.now += dt.timedelta(minutes=1)
    page = BeautifulSoup(client.get("/account").text, "html.parser")
    listed = [link["href"] for link in page.select("main .paper-title a")]
    assert listed == ["/papers/2607.07820", f"/papers/{PAPER}"]


def test_a_signed_out_upvote_asks_to_sign_in_and_is_finished_afterwards(
    make_client: Callable[..., TestClient], settings: Settings, corpus_engine: Engine
) -> None:
    client = make_client()
    action, fields = form_fields(client.get("/papers/week/2026-W34").text, f'form[action="/papers/{PAPER}/vote"]')
    answer = client.post(action, data={**fields, "vote": "up"}, follow_redirects=False)
    assert answer.status_code == 303
    pending = f"/papers/{PAPER}/upvote?next=%2Fpapers%2Fweek%2F2026-W34"
    assert answer.headers["location"] == "/signin?" + urlencode({"next": pending})
    as_json = client.post(action, data={**fields, "vote": "up"}, headers={"accept": "application/json"})
    assert as_json.status_code == 401 and as_json.json()["signin_url"] == answer.headers["location"]

    signin = BeautifulSoup(client.get(answer.headers["location"]).text, "html.parser")
    assert signin.select_one("h1").get_text(strip=True) == "Sign in to upvote"
    assert signin.select("form input[type=email]") and len(signin.select("input[type=email]")) == 1  # no banner
    _action, signin_fields = form_fields(str(signin), "form.stack-form")
    client.post("/signin", data={**signin_fields, "email": "ada@example.org"})
    link = local_path(signin_link(outbox_messages(settings.outbox_dir)[-1]))
    _action, link_fields = form_fields(client.get(link).text, "main form")
    back = client.post("/signin/link", data=link_fields, follow_redirects=False)
    # A first sign-in asks for a handle first (issue 11), then goes on to the pending upvote.
    action, profile = form_fields(client.get(back.headers["location"]).text, "main form")
    assert profile["next"] == pending
    chosen = client.post(action, data={**profile, "handle": "ada", "display_name": "Ada"}, follow_redirects=False)
    assert chosen.headers["location"] == pending
    assert _stored(corpus_engine) == (0, 0)  # nothing was voted by opening pages

    page = client.get(pending)
    assert page.status_code == 200
    action, finish = form_fields(page.text, f'main form[action="/papers/{PAPER}/vote"]')
    done = client.post(action, data={**finish, "vote": "up"}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"].startswith("/papers/week/2026-W34")
    assert _stored(corpus_engine) == (1, 1)
    assert "Already upvoted" in client.get(pending).text


def test_the_pending_upvote_page_changes_nothing_on_get_and_needs_a_session(
    make_client: Callable[..., TestClient], corpus_engine: Engine
) -> None:
    client = make_client()
    answer = client.get(f"/papers/{PAPER}/upvote", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/signin?next=")
    assert _stored(corpus_engine) == (0, 0)


def test_voting_on_an_unknown_paper_is_a_404_page(
    make_client: Callable[..., TestClient], settings: Settings, corpus_engine: Engine
) -> None:
    client = make_client()
    sign_in(client, "ada@example.org", settings.outbox_dir)
    _action, fields = form_fields(client.get(f"/papers/{PAPER}").text, "form[data-vote-form]")
    for path in ("/papers/2699.99999/vote", "/papers/not-an-id/vote", "/papers/math/9901001/vote"):
        answer = client.post(path, data={**fields, "vote": "up"})
        assert answer.status_code == 404, path
        assert BeautifulSoup(answer.text, "html.parser").select_one(".error-status").get_text() == "404"
    with corpus_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(votes)).scalar_one() == 0


def test_a_vote_without_the_csrf_token_is_refused(
    make_client: Callable[..., TestClient], settings: Settings, corpus_engine: Engine
) -> None:
    client = make_client()
    sign_in(client, "ada@example.org", settings.outbox_dir)
    answer = client.post(f"/papers/{PAPER}/vote", data={"vote": "up"})
    assert answer.status_code == 403
    assert _stored(corpus_engine) == (0, 0)


def test_an_unknown_vote_value_is_a_clear_400(make_client: Callable[..., TestClient], settings: Settings) -> None:
    client = make_client()
    sign_in(client, "ada@example.org", settings.outbox_dir)
    action, fields = form_fields(client.get(f"/papers/{PAPER}").text, "form[data-vote-form]")
    answer = client.post(action, data={**fields, "vote": "sideways"})
    assert answer.status_code == 400 and "vote" in answer.text


def test_votes_are_rate_limited_per_account(
    make_client: Callable[..., TestClient], settings: Settings, corpus_engine: Engine
) -> None:
    client = make_client(votes_per_user=3, vote_rate_window_minutes=10)
    sign_in(client, "ada@example.org", settings.outbox_dir)
    action, fields = form_fields(client.get(f"/papers/{PAPER}").text, "form[data-vote-form]")
    for wanted in ("up", "down", "up"):
        assert client.post(action, data={**fields, "vote": wanted}).status_code == 200
    refused = client.post(action, data={**fields, "vote": "down"})
    assert refused.status_code == 429 and refused.headers["retry-after"] == "600"
    assert "wait 10 minutes" in refused.text
    as_json = client.post(action, data={**fields, "vote": "down"}, headers={"accept": "application/json"})
    assert as_json.status_code == 429 and "wait" in as_json.json()["detail"]
    assert _stored(corpus_engine) == (1, 1)


def _race(clients: list[httpx.Client], requests: list[tuple[str, dict[str, str]]]) -> list[httpx.Response]:
    """Send one request per client at the same moment, each from its own thread."""
    barrier = threading.Barrier(len(clients))
    answers: list[httpx.Response | BaseException] = [RuntimeError("not sent")] * len(clients)

    def send(index: int) -> None:
        path, data = requests[index]
        barrier.wait()
        try:
            answers[index] = clients[index].post(path, data=data, headers={"accept": "application/json"})
        except BaseException as error:
            answers[index] = error

    threads = [threading.Thread(target=send, args=(index,)) for index in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for answer in answers:
        if isinstance(answer, BaseException):
            raise answer
    return answers  # type: ignore[return-value]


def test_two_concurrent_upvotes_by_one_account_count_once(database_url: str, data_dir: Path) -> None:
    """Real threads against a real server, on a SQLite file and on PostgreSQL."""
    engine = make_engine(database_url)
    load_small_corpus(engine)
    settings = Settings(
        data_dir=data_dir,
        database_url=database_url,
        secret_key="test-secret-key-not-for-production",  # type: ignore[arg-type]
        votes_per_user=1000,
    )
    with serve_app(create_app(settings)) as base_url:
        first, second = live_client(base_url), live_client(base_url)
        sign_in(first, "ada@example.org", settings.outbox_dir)
        second.cookies = first.cookies  # the same account in two tabs
        other = live_client(base_url)
        sign_in(other, "grace@example.org", settings.outbox_dir)
        action, fields = form_fields(first.get(f"/papers/{PAPER}").text, "form[data-vote-form]")
        _other_action, other_fields = form_fields(other.get(f"/papers/{PAPER}").text, "form[data-vote-form]")
        for round_number in range(8):
            wanted = "up" if round_number % 2 == 0 else "down"
            answers = _race([first, second], [(action, {**fields, "vote": wanted})] * 2)
            assert [answer.status_code for answer in answers] == [200, 200]
            assert sorted(answer.json()["changed"] for answer in answers) == [False, True]
            expected = 1 if wanted == "up" else 0
            assert _stored(engine) == (expected, expected)
        # Two accounts voting at once both count: the cached total moves by exactly two.
        answers = _race([first, other], [(action, {**fields, "vote": "up"}), (action, {**other_fields, "vote": "up"})])
        assert all(answer.json()["changed"] for answer in answers)
        assert _stored(engine) == (2, 2)
        for client in (first, second, other):
            client.close()
    engine.dispose()
