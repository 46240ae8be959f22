"""Sign-in, the subscribe form and the subscriptions API read an address the same way (mail/address.py)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from papertide.config import Settings
from tests.community_flow import form_fields, outbox_messages, request_link


def subscribe_from_banner(client: TestClient, address: str) -> Any:
    action, fields = form_fields(client.get("/").text, "form.subscribe-form")
    return client.post(action, data={**fields, "email": address})


@pytest.mark.parametrize(
    ("typed", "mailed_to"),
    [
        ("Reader@Example.org", "reader@example.org"),
        ("  reader@example.org ", "reader@example.org"),
        ("reader@exämple.org", "reader@xn--exmple-cua.org"),
        ("josé@example.org", None),
        ("reader@localhost", None),
        ("not an address", None),
        ("", None),
        ("reader@example.org\r\nBcc: victim@example.org", None),
        ("a" * 250 + "@example.org", None),
    ],
)
def test_sign_in_and_subscribe_accept_and_reject_the_same_addresses(
    client: TestClient, settings: Settings, typed: str, mailed_to: str | None
) -> None:
    signin = request_link(client, typed)
    subscribe = subscribe_from_banner(client, typed)
    api = client.post("/api/v1/subscriptions", json={"email": typed})
    recipients = [str(message["To"]) for message in outbox_messages(settings.outbox_dir)]
    if mailed_to is None:
        assert (signin.status_code, subscribe.status_code, api.status_code) == (400, 400, 422)
        assert recipients == []
    else:
        assert (signin.status_code, subscribe.status_code, api.status_code) == (200, 200, 202)
        assert recipients == [mailed_to] * 3
