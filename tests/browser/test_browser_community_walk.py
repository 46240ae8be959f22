"""In Debian's chromium: the community walk of issue 11, as a member does it, without JavaScript help.

sign in by the emailed link → choose a handle → subscribe to the digest → submit a paper (the
arXiv API is a local server answering with a recorded entry) → comment → reply → collect it from
its page → follow its first author from the author link → the digest run (the services' own, at
the subscriber's hour the next day) mails the member that paper "by <author>, whom you follow".

The submit page, the comment forms and the handle form at first sign-in are the discussion
layer's (built in parallel). Where a branch does not have them yet, the walk takes the same
steps through the services below (submit_paper, the profile store) and skips commenting; once
they are present, every step goes through the browser.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine

from papertide.config import Settings
from papertide.ingest.submission import submit_paper
from papertide.store.accounts import get_user_by_email
from papertide.store.engine import begin_write
from papertide.store.members import write_profile
from papertide.web.app import create_app
from tests.community_flow import Clock, local_path, outbox_messages, serve_app, signin_link
from tests.ingest.ingest_server import FeedServer, polite_client, running_server
from tests.ingest.test_submission import by_id

pytestmark = pytest.mark.browser
START = dt.datetime(2015, 1, 28, 10, 0, tzinfo=dt.UTC)
PAPER = "1501.05039"  # "Defining Data Science" by Yangyong Zhu and Yun Xiong, in the recorded arXiv response


@pytest.fixture
def arxiv() -> Iterator[FeedServer]:
    with running_server() as running:
        running.route("/api/query", by_id)
        yield running


@pytest.fixture
def walk_settings(settings: Settings, arxiv: FeedServer) -> Settings:
    return settings.model_copy(update={"ingest_arxiv_api_url": arxiv.url + "/api/query"})


@pytest.fixture
def app(walk_settings: Settings, corpus_engine: Engine) -> FastAPI:
    built = create_app(walk_settings)
    built.state.clock = Clock(START)
    return built


@pytest.fixture
def site(app: FastAPI) -> Iterator[str]:
    with serve_app(app) as base_url:
        yield base_url


def screenshot(page: Any, tmp_path: Path, name: str) -> None:
    folder = Path(os.environ.get("PAPERTIDE_SCREENSHOT_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def test_a_member_submits_discusses_collects_follows_and_gets_the_authors_paper_in_the_digest(
    browser: Any, site: str, app: FastAPI, walk_settings: Settings, corpus_engine: Engine, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    settings = walk_settings
    page = browser.new_page()
    # Sign in by the emailed link.
    page.goto(f"{site}/signin")
    page.get_by_role("main").get_by_label("Email address").fill("ada@example.org")
    page.get_by_role("button", name="Email me a sign-in link").click()
    [message] = outbox_messages(settings.outbox_dir)
    page.goto(site + local_path(signin_link(message)))
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_load_state()
    # Choose a handle: the form at first sign-in, where the branch has it.
    if "/account/profile" in page.url:
        page.get_by_label("Handle").fill("ada")
        page.get_by_label("Display name").fill("Ada")
        page.get_by_role("button", name="Save profile").click()
    else:
        with begin_write(corpus_engine) as conn:
            user = get_user_by_email(conn, "ada@example.org")
            assert user is not None
            write_profile(conn, user.id, handle="ada", display_name="Ada")
    expect(page).to_have_url(f"{site}/account")

    # Subscribe to the digest with the account's address: a signed-in member gets one button in the
    # banner (the sign-in link proved the address, so no confirmation mail), and the banner goes away.
    page.goto(f"{site}/")
    page.get_by_role("region", name="Daily digest").get_by_role("button", name="Subscribe ada@example.org").click()
    expect(page).to_have_url(f"{site}/account?digest=subscribed#digest")
    page.goto(f"{site}/")
    expect(page.get_by_role("region", name="Daily digest")).to_have_count(0)

    # Submit the paper (fetched from the local arXiv server, listed today).
    submit_page = page.goto(f"{site}/submit")
    if submit_page is not None and submit_page.status == 200:
        page.locator("input[name=arxiv_id]").fill(f"https://arxiv.org/abs/{PAPER}v1")
        # A new paper is fetched, stored and embedded at once: the first embedding loads the model.
        page.locator("#submit-form button[type=submit]").click(timeout=180_000)
        expect(page.locator(".submit-outcome")).to_contain_text("Defining Data Science", timeout=180_000)
        screenshot(page, tmp_path, "submit")
    else:
        services = app.state.services
        with begin_write(corpus_engine) as conn:
            user = get_user_by_email(conn, "ada@example.org")
        assert user is not None
        with polite_client("submission") as client:
            submit_paper(
                corpus_engine,
                client,
                settings.ingest_arxiv_api_url,
                PAPER,
                user.id,
                policy=services.submission_policy,
                on_changed=services.index_changed,
                clock=app.state.clock,
            )

    # Comment and reply on the paper's page, where the branch has the discussion.
    page.goto(f"{site}/papers/{PAPER}")
    if page.locator("#comment-form").count():
        page.locator("#comment-form textarea[name=body]").fill("Is *data science* a science?")
        page.locator("#comment-form button[type=submit]").click()
        expect(page.locator(".comment-threads")).to_contain_text("data science")
        reply = page.locator("details.reply-box").first
        reply.locator("summary").click()
        reply.locator("textarea[name=body]").fill("It studies data, so `yes`.")
        reply.get_by_role("button", name="Post reply").click()
        expect(page.locator(".comment-replies")).to_contain_text("It studies data")
        screenshot(page, tmp_path, "discussion")

    # Collect the paper from its page into a new public collection.
    page.goto(f"{site}/papers/{PAPER}")
    collect = page.locator("details.collect")
    collect.locator("input[name=title]").fill("Data <b>science</b>")
    collect.get_by_label("Public").check()
    collect.get_by_role("button", name="Create and add").click()
    expect(page).to_have_url(f"{site}/papers/{PAPER}")
    expect(page.locator(".paper-collections a").first).to_have_text("Data <b>science</b>")
    screenshot(page, tmp_path, "paper")
    page.locator(".paper-collections a").first.click()
    expect(page.locator("li.collection-item")).to_have_count(1)
    screenshot(page, tmp_path, "collection")

    # Follow the first author from the author link.
    page.goto(f"{site}/papers/{PAPER}")
    page.locator(".paper-meta .authors a", has_text="Yangyong Zhu").click()
    expect(page).to_have_url(f"{site}/authors/zhu_y")
    page.get_by_role("button", name="Follow Yangyong Zhu").click()
    expect(page.locator("form.follow-form button")).to_have_attribute("aria-pressed", "true")
    screenshot(page, tmp_path, "author")
    page.goto(f"{site}/account")
    expect(page.locator(".followed-authors a")).to_have_text(["Yangyong Zhu"])
    screenshot(page, tmp_path, "account")

    # The digest run, as the scheduler does it, at the subscriber's hour the next day.
    report = app.state.services.run_digest(now=dt.datetime(2015, 1, 29, 8, 0, tzinfo=dt.UTC))
    assert report.failure is None, report.summary()
    mine = [
        m
        for m in outbox_messages(settings.outbox_dir)
        if m["To"] == "ada@example.org" and "Defining Data Science" in m.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    ]
    assert mine, report.summary()
    # The reason names the follow: without it the paper would come (or not) as trending only.
    assert "by Yangyong Zhu, whom you follow" in mine[-1].get_body(("plain",)).get_content()  # type: ignore[union-attr]
