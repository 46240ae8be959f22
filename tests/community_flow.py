"""Shared steps of the community tests: forms, the sign-in mail in the outbox, a live server.

Works with both Starlette's TestClient and a plain httpx.Client against a real server.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import uvicorn
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient

from tests.ports import free_port

ClientFactory = Callable[..., TestClient]
"""The ``make_client`` fixture of tests/web/conftest.py: builds a client over the app."""


class Clock:
    """A clock the test moves by hand; set it as ``app.state.clock``."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


LINK = re.compile(r"https?://\S+/signin/link\?token=[A-Za-z0-9_\-%]+")


def form_fields(html: str, selector: str = "form") -> tuple[str, dict[str, str]]:
    """The action and the values a browser would submit, unchanged, from the first form matching ``selector``.

    Like a browser: only checked radios and checkboxes, each select's selected option (else its first),
    and textareas; a test that posts these back checks that the page accepts its own form.
    """
    form = BeautifulSoup(html, "html.parser").select_one(selector)
    assert form is not None, f"no {selector} in page"
    fields: dict[str, str] = {}
    for field in form.select("input[name], select[name], textarea[name]"):
        name = str(field["name"])
        if field.name == "select":
            option = field.select_one("option[selected]") or field.select_one("option")
            if option is not None:
                fields[name] = str(option.get("value", option.get_text()))
        elif field.name == "textarea":
            fields[name] = field.get_text()
        elif str(field.get("type", "")).lower() in ("radio", "checkbox"):
            if field.has_attr("checked"):
                fields[name] = str(field.get("value", "on"))
        else:
            fields[name] = str(field.get("value", ""))
    return str(form.get("action", "")), fields


def outbox_messages(outbox: Path) -> list[email.message.EmailMessage]:
    """Every message written to the file outbox, oldest first."""
    if not outbox.exists():
        return []
    files = sorted(outbox.glob("*.eml"), key=lambda path: path.stat().st_mtime_ns)
    return [
        email.message_from_bytes(path.read_bytes(), policy=email.policy.default)  # type: ignore[misc]
        for path in files
    ]


def signin_link(message: email.message.EmailMessage) -> str:
    """The sign-in link in a mail's text part."""
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    found = LINK.search(body.get_content())
    assert found, "no sign-in link in the mail"
    return found.group(0)


def request_link(client: Any, address: str) -> Any:
    """Ask for a sign-in mail the way the form does."""
    _action, fields = form_fields(client.get("/signin").text, "form.stack-form")
    fields["email"] = address
    return client.post("/signin", data=fields)


def local_path(link: str) -> str:
    """The path and query of an absolute link, to replay it against a test client."""
    parts = urlsplit(link)
    return f"{parts.path}?{parts.query}"


def sign_in(client: Any, address: str, outbox: Path) -> None:
    """Sign in through the form, the mail in the outbox, and the link's confirm button."""
    before = len(outbox_messages(outbox))
    response = request_link(client, address)
    assert response.status_code == 200, response.text
    messages = outbox_messages(outbox)
    assert len(messages) == before + 1
    page = client.get(local_path(signin_link(messages[-1])))
    assert page.status_code == 200
    _action, fields = form_fields(page.text, "main form")
    done = client.post("/signin/link", data=fields, follow_redirects=False)
    assert done.status_code == 303, done.text


@contextmanager
def serve_app(app: Any, port: int | None = None) -> Iterator[str]:
    """Run the app under uvicorn in a thread (on ``port``, default a free one); yields its base URL."""
    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def live_client(base_url: str) -> httpx.Client:
    """An httpx client for a live server that keeps cookies like a browser."""
    return httpx.Client(base_url=base_url, follow_redirects=True, timeout=30)
