"""Members for the community web tests: made in the database, signed in through the emailed link."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from bs4 import BeautifulSoup
from sqlalchemy import Engine

from papertide.domain.accounts import Role, User
from papertide.store.accounts import get_user, write_login
from papertide.store.engine import begin_write
from papertide.store.members import write_profile, write_role
from tests.community_flow import form_fields, sign_in

LONG_AGO = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)


def make_member(engine: Engine, name: str, *, role: Role = Role.MEMBER, handle: bool = True) -> User:
    """A member with a handle (``name``) and display name (``Name``), an old account."""
    with begin_write(engine) as conn:
        user = write_login(conn, f"{name}@example.org", LONG_AGO)
        if handle:
            write_profile(conn, user.id, handle=name, display_name=name.title())
        if role is not Role.MEMBER:
            write_role(conn, user.id, role)
        found = get_user(conn, user.id)
    assert found is not None
    return found


def signed_in(client: Any, engine: Engine, outbox: Path, name: str, **kwargs: Any) -> User:
    """Make the member and sign ``client`` in as them through the real sign-in flow."""
    member = make_member(engine, name, **kwargs)
    sign_in(client, member.email, outbox)
    return member


def page(response: Any) -> BeautifulSoup:
    """A response's HTML, parsed."""
    return BeautifulSoup(response.text, "html.parser")


def post_form(client: Any, url: str, selector: str, **values: str) -> Any:
    """Fill the form ``selector`` of the page at ``url`` and send it as a browser would."""
    action, fields = form_fields(client.get(url).text, selector)
    fields.update(values)
    return client.post(action, data=fields, follow_redirects=False)


def csrf(client: Any) -> str:
    """The CSRF token for X-CSRF-Token, as an API caller reads it."""
    token = client.get("/api/v1/session").json()["csrf_token"]
    assert isinstance(token, str)
    return token
