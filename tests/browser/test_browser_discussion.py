"""In Debian's chromium: sign in, choose a handle, submit a paper, comment, reply, report, and a moderator hides it.

Three browser contexts (three members); arXiv is a local server answering with the recorded feed.
Screenshots of each page go under PAPERTIDE_SCREENSHOT_DIR, else the test's tmp dir.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from papertide.config import Settings
from papertide.domain.accounts import Role
from papertide.web.app import create_app
from tests.community_flow import Clock, local_path, outbox_messages, serve_app, signin_link
from tests.ingest.ingest_server import FeedServer, running_server
from tests.ingest.test_submission import by_id
from tests.web.members import make_member

pytestmark = pytest.mark.browser
NOW = dt.datetime(2015, 1, 28, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def arxiv() -> Iterator[FeedServer]:
    with running_server() as server:
        server.route("/api/query", by_id)
        yield server


@pytest.fixture
def site(settings: Settings, corpus_engine: Engine, arxiv: FeedServer) -> Iterator[str]:
    configured = settings.model_copy(
        update={
            "ingest_arxiv_api_url": f"{arxiv.url}/api/query",
            "ingest_request_spacing_s": 0,
            "ingest_backoff_s": 0,
            "search_embed_batch_limit": 0,
        }
    )
    app = create_app(configured)
    app.state.clock = Clock(NOW)
    with serve_app(app) as base_url:
        yield base_url


def sign_in(browser: Any, site: str, settings: Settings, address: str) -> Any:
    """A new browser context signed in as ``address`` through the form and the emailed link."""
    from playwright.sync_api import expect

    page = browser.new_context().new_page()
    page.goto(f"{site}/signin")
    page.get_by_role("main").get_by_label("Email address").fill(address)
    page.get_by_role("button", name="Email me a sign-in link").click()
    expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()
    message = outbox_messages(settings.outbox_dir)[-1]
    page.goto(site + local_path(signin_link(message)))
    page.get_by_role("button", name="Sign in", exact=True).click()
    return page


def test_a_member_submits_and_discusses_a_paper_and_a_moderator_hides_a_reported_reply(
    browser: Any, site: str, settings: Settings, corpus_engine: Engine, screenshots: Path
) -> None:
    from playwright.sync_api import expect

    # Ada signs in for the first time: the profile form comes first.
    ada = sign_in(browser, site, settings, "ada@example.org")
    expect(ada.get_by_role("heading", name="Choose your handle")).to_be_visible()
    ada.screenshot(path=str(screenshots / "profile.png"))
    ada.get_by_label("Handle").fill("ada")
    ada.get_by_label("Display name").fill("Ada Lovelace")
    ada.get_by_role("button", name="Save profile").click()
    expect(ada).to_have_url(f"{site}/account")

    # She submits a paper by its abs URL; it goes on today's list, submitted by her.
    ada.goto(f"{site}/submit")
    ada.get_by_label("arXiv id or URL").fill("https://arxiv.org/abs/1501.05039v1")
    ada.get_by_role("button", name="Submit").click()
    outcome = ada.locator(".submit-outcome")
    expect(outcome).to_have_attribute("data-rule", "listed-new")
    ada.screenshot(path=str(screenshots / "submit.png"))
    outcome.get_by_role("link").first.click()
    expect(ada.locator(".submitted-by")).to_contain_text("Ada Lovelace")

    # She comments.
    ada.get_by_label("Add a comment").fill("A *clear* result; see `eq. 3`.")
    ada.get_by_role("button", name="Post comment").click()
    first = ada.locator("article.comment").first
    expect(first.locator(".comment-body em")).to_have_text("clear")

    # Bob (an existing member with a handle) replies, with a script that must stay inert.
    make_member(corpus_engine, "bob")
    bob = sign_in(browser, site, settings, "bob@example.org")
    expect(bob).to_have_url(f"{site}/account")
    bob.goto(f"{site}/papers/1501.05039")
    bob.dialog_alerted = False  # type: ignore[attr-defined]
    bob.on("dialog", lambda dialog: (setattr(bob, "dialog_alerted", True), dialog.dismiss()))
    bob.locator(".reply-box summary").first.click()
    bob.locator(".reply-box textarea").first.fill("Disagree <script>alert(1)</script> <img src=x onerror=alert(2)>")
    bob.get_by_role("button", name="Post reply").click()
    reply = bob.locator(".comment-replies article.comment").first
    expect(reply).to_contain_text("Disagree")
    assert bob.dialog_alerted is False  # type: ignore[attr-defined]
    bob.screenshot(path=str(screenshots / "paper-discussion.png"))

    # Ada reports Bob's reply.
    ada.reload()
    ada_reply = ada.locator(".comment-replies article.comment").first
    ada_reply.locator(".report-box summary").click()
    ada_reply.get_by_label("Why should moderators look at it?").fill("Hostile markup")
    ada_reply.get_by_role("button", name="Send report").click()
    expect(ada.get_by_role("status").filter(has_text="moderators will look")).to_be_visible()

    # A moderator hides it from the queue; readers no longer see it.
    make_member(corpus_engine, "mod", role=Role.MODERATOR)
    moderator = sign_in(browser, site, settings, "mod@example.org")
    moderator.goto(f"{site}/moderation")
    entry = moderator.locator(".moderation-entry").first
    expect(entry).to_contain_text("Hostile markup")
    moderator.screenshot(path=str(screenshots / "moderation.png"))
    entry.get_by_role("button", name="Hide").click()
    expect(moderator.get_by_text("No open reports")).to_be_visible()

    ada.reload()
    expect(ada.locator(".comment-replies")).to_have_count(0)
    expect(ada.locator("article.comment").first.locator(".comment-body em")).to_have_text("clear")
