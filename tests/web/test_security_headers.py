"""Response headers, HEAD, asset URLs, stored links and the API docs, through the real app (issue 9)."""

from __future__ import annotations

import datetime as dt

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from papertide.domain.models import Paper
from papertide.store.engine import begin_write
from papertide.store.papers import upsert_papers
from tests.community_flow import ClientFactory

NOW = dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.UTC)
HOSTILE_ID = "2611.09999"
PAGES = [
    "/",
    "/healthz",
    "/search?q=learning",
    "/papers/week",
    f"/papers/{HOSTILE_ID}",
    "/feeds/trending.atom",
    "/feeds/trending.rss",
    "/search.atom?q=learning",
    "/subscribe",
    "/signin",
    "/api/v1/search?q=learning",
    "/api/docs",
    "/static/app.js",
]


@pytest.fixture
def client(make_client: ClientFactory, corpus_engine: Engine) -> TestClient:
    """The app over the corpus plus a paper whose stored links are script URLs (as an old import left them)."""
    with begin_write(corpus_engine) as conn:
        upsert_papers(
            conn,
            [
                Paper(
                    arxiv_id=HOSTILE_ID,
                    title="A paper with hostile links",
                    abstract="Its links were stored before links were checked.",
                    abs_url="javascript:alert(document.cookie)",
                    pdf_url="data:text/html,<script>alert(1)</script>",
                    code_url=" JavaScript:alert(1)",
                    listed_on=NOW.date(),
                )
            ],
            NOW,
        )
    return make_client()


@pytest.mark.parametrize("path", [*PAGES, "/no/such/page"])
def test_every_response_carries_a_strict_content_security_policy_and_its_companions(
    client: TestClient, path: str
) -> None:
    response = client.get(path)
    policy = response.headers["content-security-policy"]
    for directive in (
        "default-src 'self'",
        "script-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ):
        assert directive in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] in ("same-origin", "no-referrer")


def test_no_page_carries_inline_script_or_inline_style_the_policy_would_block(client: TestClient) -> None:
    for path in ("/", "/search?q=learning", f"/papers/{HOSTILE_ID}", "/subscribe", "/signin", "/api/docs"):
        document = BeautifulSoup(client.get(path).text, "html.parser")
        assert all(script.get("src") for script in document.find_all("script")), path
        assert not document.find_all("style"), path
        for element in document.find_all(True):
            assert not any(name == "style" or name.startswith("on") for name in element.attrs), (path, element)


def test_a_stored_script_url_is_never_rendered_as_a_link(client: TestClient) -> None:
    document = BeautifulSoup(client.get(f"/papers/{HOSTILE_ID}").text, "html.parser")
    hrefs = [str(anchor.get("href", "")) for anchor in document.find_all("a")]
    assert hrefs and not any(href.strip().lower().startswith(("javascript:", "data:")) for href in hrefs)
    api = client.get(f"/api/v1/papers/{HOSTILE_ID}").json()
    assert api["abs_url"] is None and api["pdf_url"] is None and api["code_url"] is None


@pytest.mark.parametrize("path", PAGES)
def test_every_get_route_answers_head_with_the_status_and_headers_and_no_body(client: TestClient, path: str) -> None:
    got = client.get(path)
    head = client.head(path)
    assert head.status_code == got.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"]


def test_head_on_a_post_only_route_is_still_not_allowed(client: TestClient) -> None:
    assert client.head("/signout").status_code == 405


def test_asset_urls_do_not_come_from_the_host_header(client: TestClient) -> None:
    page = client.get("/", headers={"Host": "evil.example"})
    assert page.status_code == 200
    assert "evil.example" not in page.text
    document = BeautifulSoup(page.text, "html.parser")
    assert document.select_one('link[rel="stylesheet"]')["href"] == "/static/style.css"
    assert [script["src"] for script in document.find_all("script")] == ["/static/app.js"]


def test_the_api_docs_load_everything_from_this_server_and_docs_redirects_there(client: TestClient) -> None:
    page = client.get("/api/docs")
    document = BeautifulSoup(page.text, "html.parser")
    assets = [tag.get("src") or tag.get("href") for tag in document.find_all(["script", "link"])]
    assert assets and all(str(asset).startswith("/") and not str(asset).startswith("//") for asset in assets)
    for asset in assets:
        assert client.get(str(asset)).status_code == 200, asset
    assert document.select_one("#swagger-ui")["data-openapi-url"] == "/api/v1/openapi.json"
    moved = client.get("/docs", follow_redirects=False)
    assert moved.status_code in (301, 307, 308) and moved.headers["location"] == "/api/docs"
