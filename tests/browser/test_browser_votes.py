"""In Debian's chromium: sign in through the emailed link, upvote, and see the count change in place."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine

from papertide.config import Settings
from papertide.web.app import create_app
from tests.community_flow import local_path, outbox_messages, serve_app, signin_link

pytestmark = pytest.mark.browser


@pytest.fixture
def site(settings: Settings, corpus_engine: Engine) -> Iterator[str]:
    with serve_app(create_app(settings)) as base_url:
        yield base_url


def test_a_reader_signs_in_by_mail_and_upvotes_without_a_reload(browser: Any, site: str, settings: Settings) -> None:
    from playwright.sync_api import expect

    page = browser.new_page()
    page.goto(f"{site}/signin")
    page.get_by_role("main").get_by_label("Email address").fill("ada@example.org")
    page.get_by_role("button", name="Email me a sign-in link").click()
    expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()

    [message] = outbox_messages(settings.outbox_dir)
    page.goto(site + local_path(signin_link(message)))  # the mail names the public URL, settings.base_url
    page.get_by_role("button", name="Sign in", exact=True).click()
    # A first sign-in asks for a handle and display name first (issue 11), then goes on.
    expect(page.get_by_role("heading", name="Choose your handle")).to_be_visible()
    page.get_by_label("Display name").fill("Ada Lovelace")
    page.get_by_role("button", name="Save profile").click()
    expect(page).to_have_url(f"{site}/account")
    expect(page.get_by_text("ada@example.org").first).to_be_visible()

    page.goto(f"{site}/papers/month/2026-08")
    item = page.locator("article.paper-item").first
    button = item.locator("button.vote-button")
    count = item.locator("[data-vote-count]")
    before = int(count.inner_text())
    expect(button).to_have_attribute("aria-pressed", "false")
    page.evaluate("window.__notReloaded = true")

    button.click()
    expect(count).to_have_text(str(before + 1))
    expect(button).to_have_attribute("aria-pressed", "true")
    assert page.evaluate("window.__notReloaded") is True
    assert page.url == f"{site}/papers/month/2026-08"

    button.focus()
    page.keyboard.press("Enter")  # the button works from the keyboard too
    expect(count).to_have_text(str(before))
    expect(button).to_have_attribute("aria-pressed", "false")
    assert page.evaluate("window.__notReloaded") is True

    page.reload()
    expect(page.locator("article.paper-item").first.locator("[data-vote-count]")).to_have_text(str(before))
