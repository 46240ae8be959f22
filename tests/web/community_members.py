"""Signed-in members with handles for the web tests of collections, authors and member pages."""

from __future__ import annotations

from pathlib import Path

from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from papertide.store.accounts import get_user_by_email
from papertide.store.engine import begin_write
from papertide.store.members import write_profile
from tests.community_flow import ClientFactory, sign_in


def member_client(
    make_client: ClientFactory, engine: Engine, outbox: Path, name: str, **overrides: object
) -> TestClient:
    """A client signed in as ``name@example.org`` with the handle ``name``."""
    client = make_client(**overrides)
    sign_in(client, f"{name}@example.org", outbox)
    with begin_write(engine) as conn:
        user = get_user_by_email(conn, f"{name}@example.org")
        assert user is not None
        write_profile(conn, user.id, handle=name, display_name=name.title())
    return client


def page_token(client: TestClient, path: str = "/collections") -> str:
    """The CSRF token the forms of a page carry."""
    soup = BeautifulSoup(client.get(path).text, "html.parser")
    field = soup.select_one("input[name=csrf_token]")
    assert field is not None
    return str(field["value"])
