"""In Debian's chromium: the community walk of issue 11, as a member does it, without JavaScript help.

sign in by the emailed link → a handle → subscribe to the digest → collect a paper from its page
→ follow one of its authors from the author link → a new paper by that author arrives → the
digest run (the services' own, on the app's clock) mails the member that paper, "whom you follow".

Submitting a paper and commenting (p2-talk's pages) join this walk once they are on main.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine

from papertide.config import Settings
from papertide.domain.models import Paper
from papertide.store.accounts import get_user_by_email
from papertide.store.authorship import catch_up_authorship
from papertide.store.engine import begin_write
from papertide.store.members import write_profile
from papertide.store.papers import upsert_papers
from papertide.web.app import create_app
from tests.community_flow import Clock, local_path, outbox_messages, serve_app, signin_link

pytestmark = pytest.mark.browser
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
START = dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.UTC)
PAPER = "2606.02398"  # by Lei Yang, Siyu Ding and Deyi Xiong in the small corpus
CONFIRM = re.compile(r"https?://\S+/subscribe/confirm/\S+")


@pytest.fixture
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.skip("Debian chromium is not installed: run `make browser-deps`")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def app(settings: Settings, corpus_engine: Engine) -> FastAPI:
    built = create_app(settings)
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


def newest_mail_link(settings: Settings, pattern: re.Pattern[str]) -> str:
    for message in reversed(outbox_messages(settings.outbox_dir)):
        body = message.get_body(preferencelist=("plain",))
        found = pattern.search(body.get_content()) if body is not None else None
        if found:
            return found.group(0)
    raise AssertionError(f"no mail with {pattern.pattern} in the outbox")


def test_a_member_collects_a_paper_follows_its_author_and_gets_the_authors_new_paper_in_the_digest(
    browser: Any, site: str, app: FastAPI, settings: Settings, corpus_engine: Engine, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    page = browser.new_page()
    # Sign in by the emailed link.
    page.goto(f"{site}/signin")
    page.get_by_role("main").get_by_label("Email address").fill("ada@example.org")
    page.get_by_role("button", name="Email me a sign-in link").click()
    [message] = outbox_messages(settings.outbox_dir)
    page.goto(site + local_path(signin_link(message)))
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page).to_have_url(f"{site}/account")
    # A handle (the profile form at first sign-in is p2-talk's; set here until it is on main).
    with begin_write(corpus_engine) as conn:
        user = get_user_by_email(conn, "ada@example.org")
        assert user is not None
        write_profile(conn, user.id, handle="ada", display_name="Ada")

    # Subscribe to the digest with the same address, through the confirmation mail.
    page.goto(f"{site}/")
    page.locator("#subscribe-email").fill("ada@example.org")
    page.locator("form.subscribe-form button").click()
    page.goto(site + local_path(newest_mail_link(settings, CONFIRM)))
    page.get_by_role("button", name="Yes, subscribe me").click()

    # Collect the paper from its page into a new public collection.
    page.goto(f"{site}/papers/{PAPER}")
    collect = page.locator("details.collect")
    collect.locator("input[name=title]").fill("Alignment <b>reading</b>")
    collect.get_by_label("Public").check()
    collect.get_by_role("button", name="Create and add").click()
    expect(page).to_have_url(f"{site}/papers/{PAPER}")
    expect(page.locator(".paper-collections a").first).to_have_text("Alignment <b>reading</b>")
    screenshot(page, tmp_path, "paper")
    page.locator(".paper-collections a").first.click()
    expect(page.locator("li.collection-item")).to_have_count(1)
    screenshot(page, tmp_path, "collection")

    # Follow the first author from the author link.
    page.goto(f"{site}/papers/{PAPER}")
    page.locator(".paper-meta .authors a", has_text="Lei Yang").click()
    expect(page).to_have_url(f"{site}/authors/yang_l")
    page.get_by_role("button", name="Follow Lei Yang").click()
    expect(page.locator("form.follow-form button")).to_have_attribute("aria-pressed", "true")
    screenshot(page, tmp_path, "author")
    page.goto(f"{site}/account")
    expect(page.locator(".followed-authors a")).to_have_text(["Lei Yang"])
    screenshot(page, tmp_path, "account")

    # A new paper by that author arrives (ingest), unpopular: only the follow can bring it.
    title = "A quiet paper by a followed author"
    new = Paper(
        arxiv_id="2611.04242",
        title=title,
        abstract="Nobody upvoted this yet.",
        authors=("L. Yang", "Someone Else"),
        published=dt.date(2026, 11, 27),
        listed_on=dt.date(2026, 11, 28),
    )
    with begin_write(corpus_engine) as conn:
        upsert_papers(conn, [new], START)
    catch_up_authorship(corpus_engine)

    # The digest run, as the scheduler does it, at the subscriber's hour the next day.
    report = app.state.services.run_digest(now=dt.datetime(2026, 11, 29, 8, 0, tzinfo=dt.UTC))
    assert report.failure is None, report.summary()
    digests = [m for m in outbox_messages(settings.outbox_dir) if "signin" not in str(m["Subject"]).lower()]
    mine = [m for m in digests if m["To"] == "ada@example.org" and title in m.get_body(("plain",)).get_content()]  # type: ignore[union-attr]
    assert mine, [str(m["Subject"]) for m in digests]
    # The reason names the follow: without it the paper would come (or not) as trending only.
    assert "by Lei Yang, whom you follow" in mine[-1].get_body(("plain",)).get_content()  # type: ignore[union-attr]
