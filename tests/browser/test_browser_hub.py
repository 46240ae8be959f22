"""In Debian's chromium (issue 10): the account as the hub, the preferences page, the paper page,
an upvote asked for signed out and finished after sign-in, and vote errors shown on the page.

Screenshots go to ``$PAPERTIDE_SCREENSHOT_DIR`` when set, else the test's tmp dir, named after the
page and the width (``account-desktop.png``, ``preferences-phone.png``, ...).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from papertide.config import Settings
from papertide.web.app import create_app
from tests.community_flow import local_path, outbox_messages, serve_app, signin_link

pytestmark = pytest.mark.browser
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
PAPER = "2608.16887"
LINKED_PAPER = "2606.00660"  # its abstract names https://github.com/XuZhao0/fineverify


@pytest.fixture
def site(settings: Settings, corpus_engine: Engine) -> Iterator[str]:
    with serve_app(create_app(settings)) as base_url:
        yield base_url


def sign_in(page: Any, site: str, settings: Settings, address: str, *, already_there: bool = False) -> None:
    """Ask for a link on the sign-in page (opened unless ``already_there``), open the mailed link, press Sign in."""
    from playwright.sync_api import expect

    if not already_there:
        page.goto(f"{site}/signin")
    page.get_by_role("main").get_by_label("Email address").fill(address)
    page.get_by_role("button", name="Email me a sign-in link").click()
    expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()
    message = outbox_messages(settings.outbox_dir)[-1]
    page.goto(site + local_path(signin_link(message)))
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_load_state()
    if "/account/profile" in page.url:  # a first sign-in chooses a handle first (issue 11), then goes on
        page.get_by_label("Handle").fill(address.split("@")[0])
        page.get_by_label("Display name").fill(address.split("@")[0].title())
        page.get_by_role("button", name="Save profile").click()


def shoot(page: Any, folder: Path, name: str, *, full_page: bool = True) -> None:
    page.screenshot(path=str(folder / f"{name}.png"), full_page=full_page)


def test_a_member_runs_their_digest_from_the_account_page_at_both_widths(
    browser: Any, site: str, settings: Settings, screenshots: Path
) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(viewport=DESKTOP, timezone_id="Europe/Paris")
    page = context.new_page()
    sign_in(page, site, settings, "ada@example.org")
    expect(page).to_have_url(f"{site}/account")
    digest = page.locator("section#digest")
    expect(page.locator(".subscribe-banner")).to_be_visible()
    digest.get_by_role("button", name="Subscribe ada@example.org").click()
    expect(digest.get_by_role("status")).to_have_text(
        "You are subscribed. Your first digest comes at your next delivery hour."
    )
    expect(page.locator(".subscribe-banner")).to_have_count(0)  # hidden for subscribers
    shoot(page, screenshots, "account-desktop")
    page.set_viewport_size(PHONE)
    shoot(page, screenshots, "account-phone")
    # Nothing may stick out sideways on a phone.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    page.set_viewport_size(DESKTOP)

    digest.get_by_role("link", name="Edit digest preferences").click()
    zone = page.get_by_label("Time zone")
    expect(zone).to_have_value("Europe/Paris")  # detected from the browser, the default was stored
    expect(page.get_by_text("Detected from your browser: Europe/Paris. Save to keep it.")).to_be_visible()
    assert page.evaluate("document.querySelector('#pref-timezone').tagName") == "SELECT"
    shoot(page, screenshots, "preferences-desktop")
    page.set_viewport_size(PHONE)
    shoot(page, screenshots, "preferences-phone")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    page.set_viewport_size(DESKTOP)
    page.get_by_role("button", name="Save preferences").click()
    expect(page.get_by_role("status").first).to_have_text("Your preferences are saved.")
    expect(zone).to_have_value("Europe/Paris")

    page.get_by_role("link", name="Unsubscribe").click()
    page.get_by_role("button", name="Unsubscribe").click()
    expect(page.get_by_role("heading", name="You are unsubscribed")).to_be_visible()

    page.goto(f"{site}/account")
    expect(digest).to_contain_text("Unsubscribed")
    page.get_by_role("link", name="Delete my account…").click()
    expect(page.get_by_role("heading", name="Delete your account?")).to_be_visible()
    shoot(page, screenshots, "account-delete-desktop")
    page.get_by_role("button", name="Delete my account").click()
    expect(page.get_by_role("heading", name="Your account is deleted")).to_be_visible()
    page.goto(f"{site}/account")
    expect(page).to_have_url(f"{site}/signin?next=%2Faccount")
    context.close()


def test_the_paper_page_links_arxiv_and_the_abstract_urls_at_both_widths(
    browser: Any, site: str, screenshots: Path
) -> None:
    from playwright.sync_api import expect

    page = browser.new_page(viewport=DESKTOP)
    page.goto(f"{site}/papers/{LINKED_PAPER}/")
    expect(page).to_have_url(f"{site}/papers/{LINKED_PAPER}")
    expect(page.locator(".paper-dates")).to_contain_text("Published")
    expect(page.get_by_role("link", name="HTML")).to_have_attribute("href", f"https://arxiv.org/html/{LINKED_PAPER}")
    expect(page.locator(".abstract a")).to_have_attribute("href", "https://github.com/XuZhao0/fineverify")
    assert page.evaluate("document.querySelector('link[rel=icon]').href").endswith("/static/favicon.svg")
    shoot(page, screenshots, "paper-desktop")
    page.set_viewport_size(PHONE)
    shoot(page, screenshots, "paper-phone")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert page.goto(f"{site}/papers/{LINKED_PAPER}v9").status == 404


def test_an_upvote_asked_for_signed_out_is_finished_after_sign_in(
    browser: Any, site: str, settings: Settings, screenshots: Path
) -> None:
    from playwright.sync_api import expect

    page = browser.new_page(viewport=PHONE)
    page.goto(f"{site}/papers/month/2026-08")
    item = page.locator(f"article.paper-item:has(a[href='/papers/{PAPER}'])")
    before = int(item.locator("[data-vote-count]").inner_text())
    item.locator("button.vote-button").click()
    expect(page.get_by_role("heading", name="Sign in to upvote")).to_be_visible()
    assert page.locator("input[type=email]").count() == 1  # no banner form beside the sign-in form
    shoot(page, screenshots, "signin-to-upvote-phone")
    sign_in(page, site, settings, "grace@example.org", already_there=True)
    expect(page.get_by_role("heading", name="Finish your upvote")).to_be_visible()
    page.get_by_role("button", name="▲ Upvote this paper").click()
    expect(page).to_have_url(re.compile(re.escape(f"{site}/papers/month/2026-08") + r"#paper-\d+$"))
    item = page.locator(f"article.paper-item:has(a[href='/papers/{PAPER}'])")
    expect(item.locator("[data-vote-count]")).to_have_text(str(before + 1))
    expect(item.locator("button.vote-button")).to_have_attribute("aria-pressed", "true")


def test_a_refused_vote_is_shown_beside_the_button(
    browser: Any, settings: Settings, corpus_engine: Engine, screenshots: Path
) -> None:
    from playwright.sync_api import expect

    with serve_app(create_app(settings.model_copy(update={"votes_per_user": 1}))) as site:
        page = browser.new_page(viewport=DESKTOP)
        sign_in(page, site, settings, "ada@example.org")
        page.goto(f"{site}/papers/month/2026-08")
        first = page.locator("article.paper-item").first
        first.locator("button.vote-button").click()
        expect(first.locator("button.vote-button")).to_have_attribute("aria-pressed", "true")
        second = page.locator("article.paper-item").nth(1)
        second.locator("button.vote-button").click()
        error = second.locator(".vote-error")
        expect(error).to_be_visible()
        expect(error).to_contain_text("You have voted very often")
        expect(second.locator("button.vote-button")).to_have_attribute("aria-pressed", "false")
        shoot(page, screenshots, "vote-error-desktop", full_page=False)


def test_a_search_that_matches_nothing_says_no_close_matches_at_both_widths(
    browser: Any, site: str, screenshots: Path
) -> None:
    """The search-empty page (issue 10): an honest "no close matches" with advice, one search box."""
    from playwright.sync_api import expect

    page = browser.new_page(viewport=DESKTOP)
    # Words only: this test needs no embedding model; the floor's semantic side has its own tests.
    page.goto(f"{site}/search?q=zzqxjvbw&mode=lexical")
    expect(page.locator("#result-summary")).to_contain_text("No close matches")
    expect(page.locator("#no-close-matches")).to_contain_text("Check the spelling")
    expect(page.locator("#results")).to_have_count(0)
    expect(page.get_by_role("searchbox")).to_have_count(1)
    shoot(page, screenshots, "search-empty-desktop")
    page.set_viewport_size(PHONE)
    shoot(page, screenshots, "search-empty-phone")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
