"""Asking for a sign-in link: rate limits, a single-use token and the mail, apart from the page.

The form (web/routes/account.py) only turns the outcome into a page, as the digest's sign-up
(digest/subscription.py) does for subscribing; both read the address with mail/address.py,
so they accept and refuse the same addresses. Asking reveals nothing about whether an account
exists: the account is created when the link is first used (store/accounts.py).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlencode

from sqlalchemy import Engine

from papertide.domain.errors import PapertideError
from papertide.mail.address import parse_address
from papertide.mail.signin import compose_signin_message
from papertide.mail.transport import DeliveryError, MailTransport
from papertide.store.accounts import create_login_token
from papertide.store.engine import begin_write
from papertide.store.ratelimits import RateRule, take_rate_slots

log = logging.getLogger(__name__)
LINK_PATH = "/signin/link"


@dataclass(frozen=True, slots=True)
class SigninPolicy:
    """Links one address and one client may ask for within ``window``, and how long a link works."""

    per_address: int = 5
    per_client: int = 20
    window: dt.timedelta = dt.timedelta(hours=1)
    link_lifetime: dt.timedelta = dt.timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class SigninSite:
    """Whose name the mail carries, who sends it and where its link points."""

    name: str
    base_url: str
    mail_from: str


class TooManySignins(PapertideError):
    """Too many links went to this address or were asked for by this client; retry after ``retry_after`` s."""

    def __init__(self, refused: Literal["address", "client"], retry_after: int) -> None:
        who = "this address" if refused == "address" else "your network"
        super().__init__(
            f"Too many sign-in links were sent to {who} recently. "
            f"Please try again in {_wait_text(retry_after)}, or use a link already sent."
        )
        self.refused = refused
        self.retry_after = retry_after


class MailUnavailable(PapertideError):
    """The sign-in mail could not be handed to the mail server."""


def _wait_text(seconds: int) -> str:
    minutes = max(1, -(-seconds // 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def run_signin_request(
    engine: Engine,
    transport: MailTransport,
    raw_email: str,
    *,
    next_url: str,
    client: str,
    now: dt.datetime,
    site: SigninSite,
    policy: SigninPolicy,
) -> str:
    """Check the limits, store a single-use token and mail its link; returns the address it went to.

    :param next_url: the local page the link leads to once used (already checked by the caller).
    :param client: the asking client's IP address, for the per-client limit.
    Raises InvalidAddress, TooManySignins or MailUnavailable. The limits are checked together,
    so a request refused by one does not use up the other.
    """
    address = parse_address(raw_email)
    rules = [
        RateRule(f"signin:address:{address}", policy.per_address, policy.window),
        RateRule(f"signin:client:{client}", policy.per_client, policy.window),
    ]
    with begin_write(engine) as conn:
        decision = take_rate_slots(conn, rules, now)
        if decision.allowed:
            token = create_login_token(conn, address, now=now, lifetime=policy.link_lifetime, next_url=next_url)
    if not decision.allowed:
        refused: Literal["address", "client"] = "address" if decision.refused_key == rules[0].key else "client"
        raise TooManySignins(refused, decision.retry_after_seconds)
    message = compose_signin_message(
        to=address,
        link=f"{site.base_url.rstrip('/')}{LINK_PATH}?{urlencode({'token': token})}",
        site_name=site.name,
        mail_from=site.mail_from,
        valid_minutes=int(policy.link_lifetime.total_seconds() // 60),
        now=now,
    )
    try:
        with transport:
            transport.send(message)
    except DeliveryError as error:
        log.warning("sign-in mail to %s not delivered: %s", address, error)
        raise MailUnavailable(
            "The sign-in mail could not be sent just now. Please try again in a few minutes."
        ) from None
    return address
