"""In Debian's chromium: a hostile stored link does not run, and every page works under the strict CSP."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from papertide.config import Settings
from papertide.domain.models import Paper
from papertide.ingest.jsonl import read_jsonl_papers
from papertide.ingest.pipeline import run_ingest
from papertide.store.engine import begin_write
from papertide.store.papers import upsert_papers
from papertide.web.app import create_app
from tests.community_flow import local_path, outbox_messages, serve_app, signin_link

pytestmark = pytest.mark.browser
INGESTED = "2611.09991"
STORED = "2611.09992"
# Runs before any page script (Playwright's init scripts are exempt from the page's CSP).
WATCH = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(event.violatedDirective + " " + event.blockedURI);
});
"""


@pytest.fixture
def site(settings: Settings, corpus_engine: Engine, tmp_path: Path) -> Iterator[str]:
    hostile = {
        "arxiv_id": INGESTED,
        "title": "Hostile links by JSONL",
        "abstract": "An imported record whose links are script URLs.",
        "abs_url": "javascript:window.__fired=true;alert(document.cookie)",
        "pdf_url": "javascript:window.__fired=true",
        "code_url": "JavaScript:window.__fired=true",
        "published": "2026-11-27",
    }
    source = tmp_path / "hostile.jsonl"
    source.write_text(json.dumps(hostile) + "\n", encoding="utf-8")
    with source.open("rb") as handle:
        assert run_ingest(corpus_engine, "jsonl", read_jsonl_papers(handle, source.name)).new == 1
    with begin_write(corpus_engine) as conn:  # as an import before the http(s) rule left it
        stored = Paper(
            arxiv_id=STORED,
            title="Hostile links stored earlier",
            abstract="Its links bypassed the ingest check.",
            abs_url="javascript:window.__fired=true",
            code_url="javascript:window.__fired=true",
            published=dt.date(2026, 11, 27),
        )
        upsert_papers(conn, [stored], dt.datetime(2026, 11, 28, tzinfo=dt.UTC))
    with serve_app(create_app(settings)) as base_url:
        yield base_url


def _screenshot(page: Any, tmp_path: Path, name: str) -> None:
    folder = Path(os.environ.get("PAPERTIDE_SCREENSHOT_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def test_a_javascript_abs_url_ingested_from_jsonl_does_not_fire(browser: Any, site: str, tmp_path: Path) -> None:
    page = browser.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    for arxiv_id in (INGESTED, STORED):
        response = page.goto(f"{site}/papers/{arxiv_id}")
        assert response is not None and response.status == 200
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        _screenshot(page, tmp_path, f"paper-{arxiv_id.replace('.', '-')}")
        links = page.locator("main a")
        hrefs = [links.nth(index).get_attribute("href") or "" for index in range(links.count())]
        assert not any("javascript" in href.lower() for href in hrefs), hrefs
        for index in range(links.count()):  # click every link on the page: none may run script
            href = links.nth(index).get_attribute("href") or ""
            if href.startswith(("http://", "https://")) and not href.startswith(site):
                continue  # outside links: the test machine is offline
            links.nth(index).click(modifiers=["Control"])  # a new tab: this page stays
        assert page.evaluate("window.__fired === undefined")
    assert dialogs == []


def test_pages_work_under_the_content_security_policy_without_violations(
    browser: Any,
    site: str,
    settings: Settings,
    tmp_path: Path,
) -> None:
    from playwright.sync_api import expect

    context = browser.new_context()
    context.add_init_script(WATCH)
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))

    page.goto(f"{site}/signin")
    page.get_by_role("main").get_by_label("Email address").fill("ada@example.org")
    page.get_by_role("button", name="Email me a sign-in link").click()
    [message] = outbox_messages(settings.outbox_dir)
    page.goto(site + local_path(signin_link(message)))
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page).to_have_url(re.compile(re.escape(site) + "/account"))  # the account, or its profile first

    for name, path in (
        ("home", "/"),
        ("search", "/search?q=learning&mode=lexical"),
        ("paper", f"/papers/{INGESTED}"),
        ("account", "/account"),
        ("profile", "/account/profile"),
        ("api-docs", "/api/docs"),
    ):
        response = page.goto(site + path)
        assert response is not None and response.status == 200, path
        page.wait_for_load_state("load")
        if name == "api-docs":  # Swagger UI is a script: it rendered only if it ran
            expect(page.locator(".swagger-ui .info .title")).to_be_visible()
        _screenshot(page, tmp_path, name)
        assert page.evaluate("window.__violations") == [], path
    page.goto(f"{site}/papers/{INGESTED}")
    page.locator("article button.vote-button, main button.vote-button").first.click()  # app.js runs under the CSP
    expect(page.locator("main [data-vote-count]").first).to_have_text("1")
    assert page.evaluate("window.__violations") == []
    assert not [line for line in console if "Content Security Policy" in line], console
    # The watch itself works: an injected inline script is blocked and reported.
    page.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = 'window.__inline = 1';"
        " document.body.appendChild(s); }"
    )
    page.wait_for_function("window.__violations.length > 0")
    assert page.evaluate("window.__inline === undefined")
    context.close()
