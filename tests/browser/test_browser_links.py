"""In Debian's chromium: the mailed links of a server on any port open that server, and an empty
digest preview says why (issue 10)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from papertide.cli.context import Invocation
from papertide.cli.serve import serving_app
from papertide.config import Settings
from papertide.digest.tokens import sign_token
from papertide.domain.clock import utc_now
from papertide.domain.subscribers import Preferences
from papertide.store.engine import begin_write
from papertide.store.subscribers import insert_subscriber
from tests.community_flow import outbox_messages, serve_app, signin_link
from tests.ports import free_port

pytestmark = pytest.mark.browser


@pytest.fixture
def served(settings: Settings, corpus_engine: Engine) -> Iterator[tuple[str, Settings]]:
    """The app as `papertide serve --port PORT` builds it, with no base URL configured."""
    port = free_port()
    unset = settings.model_copy(update={"base_url": ""})
    run = Invocation(lambda: Settings(**{**unset.model_dump(), "base_url": ""}))
    with serve_app(serving_app(run, "127.0.0.1", port, run_jobs=False), port) as base_url:
        yield base_url, run.settings
    run.close()


def _screenshot(page: Any, tmp_path: Path, name: str) -> Path:
    folder = Path(os.environ.get("PAPERTIDE_SCREENSHOT_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{name}.png"
    page.screenshot(path=str(target), full_page=True)
    return target


def test_the_mailed_sign_in_link_opens_the_server_on_its_own_port(
    browser: Any, served: tuple[str, Settings], tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    site, settings = served
    assert settings.base_url == site
    page = browser.new_page()
    page.goto(f"{site}/signin")
    page.get_by_role("main").get_by_label("Email address").fill("ada@example.org")
    page.get_by_role("button", name="Email me a sign-in link").click()
    expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()
    [message] = outbox_messages(settings.outbox_dir)
    link = signin_link(message)
    assert link.startswith(f"{site}/")
    page.goto(link)  # as it is in the mail: no rewriting of the host or port
    page.get_by_role("button", name="Sign in", exact=True).click()
    # A first sign-in goes on to the handle form (issue 11), still on the served port.
    expect(page).to_have_url(re.compile(re.escape(site) + r"/account(/profile\?next=/account)?$"))
    _screenshot(page, tmp_path, "account-after-mailed-link")


def test_an_empty_digest_preview_says_why_and_does_not_offer_to_subscribe_again(
    browser: Any, served: tuple[str, Settings], corpus_engine: Engine, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    site, settings = served
    now = utc_now()
    with begin_write(corpus_engine) as conn:
        who = insert_subscriber(conn, "reader@example.org", Preferences(), status="confirmed", now=now)
    assert who is not None
    token = sign_token(settings.secret(), "manage", who.id, who.email, now)
    page = browser.new_page()
    page.goto(f"{site}/digest/preview/{token}")
    # The small corpus ends in 2026-08: today, nothing was listed in the look-back.
    expect(page.get_by_role("heading", name="Your next digest would be empty")).to_be_visible()
    expect(page.locator("main p[role=status]")).to_contain_text("No papers were listed in the last")
    expect(page.get_by_role("link", name="Subscribe again")).to_have_count(0)
    page.get_by_role("link", name="Your preferences").click()
    expect(page).to_have_url(f"{site}/digest/preferences/{token}")
    _screenshot(page, tmp_path, "digest-preview-empty")
