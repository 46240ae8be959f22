"""Asking for a sign-in link as a service (accounts/signin.py): the token, the mail, and a mail server that is down."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import Engine, func, select

from papertide.accounts.signin import MailUnavailable, SigninPolicy, SigninSite, run_signin_request
from papertide.domain.accounts import LinkState
from papertide.mail.address import InvalidAddress
from papertide.mail.transport import FileOutbox, SmtpTransport
from papertide.store.accounts import check_login_token
from papertide.store.schema import login_tokens, rate_events
from tests.community_flow import outbox_messages, signin_link
from tests.ports import free_port

NOW = dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.UTC)
SITE = SigninSite(name="Papertide test", base_url="https://papers.example.org/", mail_from="papers@example.org")


def test_the_link_goes_to_the_parsed_address_and_leads_to_the_next_page(engine: Engine, tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    address = run_signin_request(
        engine,
        FileOutbox(outbox),
        "  Ada@Exämple.org ",
        next_url="/papers/2401.00001",
        client="192.0.2.1",
        now=NOW,
        site=SITE,
        policy=SigninPolicy(link_lifetime=dt.timedelta(minutes=20)),
    )
    assert address == "ada@xn--exmple-cua.org"
    [message] = outbox_messages(outbox)
    assert message["To"] == address
    link = signin_link(message)
    assert link.startswith("https://papers.example.org/signin/link?token=")
    [token] = parse_qs(urlsplit(link).query)["token"]
    with engine.connect() as conn:
        check = check_login_token(conn, token, NOW + dt.timedelta(minutes=19))
        late = check_login_token(conn, token, NOW + dt.timedelta(minutes=21))
    assert (check.state, check.email, check.next_url) == (LinkState.VALID, address, "/papers/2401.00001")
    assert late.state is LinkState.EXPIRED


def test_a_bad_address_stores_nothing_and_uses_no_rate_slot(engine: Engine, tmp_path: Path) -> None:
    with pytest.raises(InvalidAddress, match="not a valid address"):
        run_signin_request(
            engine,
            FileOutbox(tmp_path / "outbox"),
            "ada@",
            next_url="/account",
            client="192.0.2.1",
            now=NOW,
            site=SITE,
            policy=SigninPolicy(),
        )
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(login_tokens)).scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(rate_events)).scalar_one() == 0
    assert outbox_messages(tmp_path / "outbox") == []


def test_a_mail_server_that_cannot_be_reached_is_reported_as_mail_unavailable(engine: Engine) -> None:
    closed = SmtpTransport(f"smtp://127.0.0.1:{free_port()}", timeout=5)
    with pytest.raises(MailUnavailable, match="could not be sent just now"):
        run_signin_request(
            engine,
            closed,
            "ada@example.org",
            next_url="/account",
            client="192.0.2.1",
            now=NOW,
            site=SITE,
            policy=SigninPolicy(),
        )
