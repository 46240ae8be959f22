"""X-Forwarded-For and X-Forwarded-Proto count only from the proxies in forwarded_allow_ips (issue 14)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import Engine

from papertide.config import Settings
from papertide.web.app import create_app
from tests.community_flow import form_fields

VISITOR = ("203.0.113.7", 40000)
PROXY = ("127.0.0.1", 40000)


@contextmanager
def client_from(settings: Settings, address: tuple[str, int], **overrides: object) -> Iterator[TestClient]:
    """A client whose connections come from ``address``; one sign-in mail per client and window."""
    limits = {"signin_mails_per_client": 1, "signin_mails_per_address": 50, **overrides}
    app = create_app(settings.model_copy(update=limits))
    with TestClient(app, base_url="http://papers.example.org", client=address) as client:
        yield client


def ask_for_link(client: TestClient, address: str, forwarded_for: str) -> int:
    headers = {"X-Forwarded-For": forwarded_for}
    _action, fields = form_fields(client.get("/signin", headers=headers).text, "form.stack-form")
    return client.post("/signin", data={**fields, "email": address}, headers=headers).status_code


def test_a_forged_forwarded_for_from_a_visitor_does_not_escape_the_per_client_limit(
    settings: Settings, corpus_engine: Engine
) -> None:
    with client_from(settings, VISITOR, forwarded_allow_ips="127.0.0.1") as client:
        assert ask_for_link(client, "one@example.org", "198.51.100.1") == 200
        assert ask_for_link(client, "two@example.org", "198.51.100.2") == 429


def test_the_configured_proxy_names_the_client_each_limit_counts(settings: Settings, corpus_engine: Engine) -> None:
    with client_from(settings, PROXY, forwarded_allow_ips="127.0.0.1") as client:
        assert ask_for_link(client, "one@example.org", "198.51.100.1") == 200
        assert ask_for_link(client, "two@example.org", "198.51.100.2") == 200
        # A client's own entry before the proxy's is not believed: the proxy appends the real address.
        assert ask_for_link(client, "three@example.org", "198.51.100.9, 198.51.100.2") == 429


def test_by_default_no_proxy_is_trusted_not_even_loopback(settings: Settings, corpus_engine: Engine) -> None:
    assert Settings().forwarded_allow_ips == ""
    with client_from(settings, PROXY) as client:
        assert ask_for_link(client, "one@example.org", "198.51.100.1") == 200
        assert ask_for_link(client, "two@example.org", "198.51.100.2") == 429


@pytest.mark.parametrize(("address", "secure"), [(VISITOR, False), (PROXY, True)])
def test_cookies_are_secure_only_when_the_trusted_proxy_says_https(
    settings: Settings, corpus_engine: Engine, address: tuple[str, int], secure: bool
) -> None:
    with client_from(settings, address, forwarded_allow_ips="127.0.0.0/8") as client:
        page = client.get("/signin", headers={"X-Forwarded-Proto": "https"})
    cookie = next(value for value in page.headers.get_list("set-cookie") if value.startswith(settings.csrf_cookie_name))
    assert ("secure" in cookie.lower().split("; ")) is secure


def test_links_come_from_base_url_never_from_forwarded_host(settings: Settings, corpus_engine: Engine) -> None:
    with client_from(settings, PROXY, forwarded_allow_ips="*") as client:
        feed = client.get("/feeds/trending.rss", headers={"X-Forwarded-Host": "evil.example"})
    assert feed.status_code == 200
    assert "evil.example" not in feed.text
    assert settings.base_url in feed.text


def test_a_proxy_setting_that_is_not_an_address_is_refused_by_name() -> None:
    with pytest.raises(ValidationError, match=r"'proxy\.local' is not an IP address or network"):
        Settings(forwarded_allow_ips="127.0.0.1, proxy.local")
