"""Subscribing, confirming, managing and leaving: the subscriber's side of the digest.

Double opt-in: asking to subscribe stores a ``pending`` row and mails a signed confirmation
link; nothing else is ever sent to a pending address, and pending rows expire. Asking again
for an address that is already confirmed mails it a link to its preferences instead, so the
answer on the page is the same in every case and reveals nothing about who subscribes.
Confirmation mails are rate-limited per address (silently) and per client (visibly).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import Engine

from papertide.digest.compose import MailComposer
from papertide.digest.preferences import FormValue, parse_email, parse_preferences
from papertide.digest.tokens import ExpiredToken, InvalidToken, Purpose, check_token, parse_token
from papertide.domain.errors import PapertideError
from papertide.domain.subscribers import Preferences, Subscriber
from papertide.mail.transport import DeliveryError, MailTransport
from papertide.store.engine import begin_write
from papertide.store.ratelimits import RateRule, take_rate_slots
from papertide.store.subscribers import (
    confirm_subscriber,
    delete_subscriber,
    get_subscriber,
    get_subscriber_by_email,
    insert_subscriber,
    unsubscribe_subscriber,
    write_confirmation_sent,
    write_preferences,
)

log = logging.getLogger(__name__)
LINK_PROBLEM = "This link is not valid: it may have been cut short, altered, or belong to an address that left."


class TooManyRequests(PapertideError):
    """This client asked for too many confirmation mails; try again after ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Too many sign-ups from your network. Please try again in {max(1, retry_after // 60)} min.")
        self.retry_after = retry_after


class MailUnavailable(PapertideError):
    """The confirmation mail could not be handed to the mail server; nothing was stored."""


@dataclass(frozen=True, slots=True)
class SignupLimits:
    """Confirmation mails allowed per address and per client within ``window``."""

    per_address: int = 3
    per_client: int = 20
    window: dt.timedelta = dt.timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class SignupOutcome:
    """What happened, for logs and tests; the page shows the same text whatever it says."""

    email: str
    mailed: bool
    already_subscribed: bool


def _address_key(email: str) -> str:
    # Rate-limit rows outlive sign-ups; they hold a hash, not the address.
    return "digest:address:" + hashlib.sha256(email.encode("utf-8")).hexdigest()[:32]


def run_signup(
    engine: Engine,
    transport: MailTransport,
    composer: MailComposer,
    raw_email: str,
    *,
    now: dt.datetime,
    client: str,
    defaults: Preferences,
    limits: SignupLimits,
    pending_expiry: dt.timedelta,
) -> SignupOutcome:
    """Validate the address, record the request and mail the confirmation (or the preferences link).

    Raises InvalidSubscription (bad address), TooManyRequests (this client), MailUnavailable.
    """
    email = parse_email(raw_email)
    rules = [
        RateRule(f"digest:client:{client}", limits.per_client, limits.window),
        RateRule(_address_key(email), limits.per_address, limits.window),
    ]
    created = False
    with begin_write(engine) as conn:
        subscriber = get_subscriber_by_email(conn, email)
        if subscriber and subscriber.status == "pending" and subscriber.created_at < now - pending_expiry:
            delete_subscriber(conn, subscriber.id)
            subscriber = None
        decision = take_rate_slots(conn, rules, now)
        if not decision.allowed:
            if decision.refused_key == rules[0].key:
                raise TooManyRequests(decision.retry_after_seconds)
            return SignupOutcome(email, mailed=False, already_subscribed=False)
        if subscriber is None:
            subscriber = insert_subscriber(conn, email, defaults, status="pending", now=now)
            created = subscriber is not None
            subscriber = subscriber or get_subscriber_by_email(conn, email)
        assert subscriber is not None
        previous = subscriber.confirmation_sent_at
        write_confirmation_sent(conn, subscriber.id, now)
    already = subscriber.status == "confirmed"
    message = composer.compose_confirmation(
        subscriber_id=subscriber.id,
        email=email,
        already_subscribed=already,
        valid_days=max(1, pending_expiry.days),
        now=now,
    )
    try:
        with transport:
            transport.send(message)
    except DeliveryError as error:
        log.warning("confirmation mail not delivered: %s", error)
        with begin_write(engine) as conn:
            if created:
                delete_subscriber(conn, subscriber.id)
            else:
                write_confirmation_sent(conn, subscriber.id, previous)
        raise MailUnavailable("The confirmation mail could not be sent just now. Please try again shortly.") from None
    return SignupOutcome(email, mailed=True, already_subscribed=already)


def _checked(
    engine: Engine, secret: str, purpose: Purpose, token: str, now: dt.datetime, max_age: dt.timedelta | None
) -> Subscriber:
    claims = parse_token(token)
    with engine.connect() as conn:
        subscriber = get_subscriber(conn, claims.subscriber_id)
    if subscriber is None:
        raise InvalidToken(LINK_PROBLEM)
    check_token(secret, purpose, token, subscriber.email, now=now, max_age=max_age)
    return subscriber


def run_confirmation(engine: Engine, secret: str, token: str, *, now: dt.datetime, max_age: dt.timedelta) -> Subscriber:
    """Confirm the address behind a confirmation link; confirming twice is fine."""
    subscriber = _checked(engine, secret, "confirm", token, now, max_age)
    if subscriber.status == "confirmed":
        return subscriber
    issued = parse_token(token).issued_at
    left = subscriber.unsubscribed_at
    if left is not None and issued < left.replace(microsecond=0):
        raise ExpiredToken("This link was sent before you unsubscribed. Subscribe again to get a fresh one.")
    with begin_write(engine) as conn:
        confirm_subscriber(conn, subscriber.id, now)
        confirmed = get_subscriber(conn, subscriber.id)
    assert confirmed is not None
    return confirmed


def read_managed(engine: Engine, secret: str, token: str, *, now: dt.datetime, max_age: dt.timedelta) -> Subscriber:
    """The subscriber a preferences link belongs to."""
    return _checked(engine, secret, "manage", token, now, max_age)


def run_preferences(
    engine: Engine,
    secret: str,
    token: str,
    form: Mapping[str, FormValue],
    *,
    now: dt.datetime,
    max_age: dt.timedelta,
) -> Subscriber:
    """Validate and store new preferences; raises InvalidSubscription and stores nothing on bad input."""
    subscriber = read_managed(engine, secret, token, now=now, max_age=max_age)
    preferences = parse_preferences(form, subscriber.preferences)
    with begin_write(engine) as conn:
        write_preferences(conn, subscriber.id, preferences)
        updated = get_subscriber(conn, subscriber.id)
    assert updated is not None
    return updated


def read_unsubscribing(engine: Engine, secret: str, token: str, *, now: dt.datetime) -> Subscriber:
    """The subscriber an unsubscribe link belongs to (these links never expire)."""
    return _checked(engine, secret, "unsubscribe", token, now, None)


def run_unsubscribe(engine: Engine, secret: str, token: str, *, now: dt.datetime) -> Subscriber:
    """Unsubscribe at once; a second time changes nothing."""
    subscriber = read_unsubscribing(engine, secret, token, now=now)
    with begin_write(engine) as conn:
        unsubscribe_subscriber(conn, subscriber.id, now)
        updated = get_subscriber(conn, subscriber.id)
    assert updated is not None
    return updated


class UndoExpired(PapertideError):
    """The undo window after an unsubscribe has passed: subscribing again needs a confirmation mail."""


def can_undo(subscriber: Subscriber, *, now: dt.datetime, window: dt.timedelta) -> bool:
    """Whether the unsubscribe page may still offer "subscribe me again" without a new confirmation."""
    left = subscriber.unsubscribed_at
    return (
        subscriber.status == "unsubscribed"
        and subscriber.confirmed_at is not None
        and left is not None
        and left <= now <= left + window
    )


def run_resubscribe(engine: Engine, secret: str, token: str, *, now: dt.datetime, window: dt.timedelta) -> Subscriber:
    """Undo an unsubscribe from the page it led to, within ``window`` of it (the link proves the mailbox).

    Later the link proves only that someone once had the mail, perhaps forwarded months ago:
    raises :class:`UndoExpired`, and the page offers a new double opt-in instead.
    """
    subscriber = read_unsubscribing(engine, secret, token, now=now)
    if subscriber.status != "unsubscribed":
        return subscriber
    if not can_undo(subscriber, now=now, window=window):
        raise UndoExpired("The undo button works only for a short while after unsubscribing.")
    with begin_write(engine) as conn:
        confirm_subscriber(conn, subscriber.id, now)
        subscriber = get_subscriber(conn, subscriber.id) or subscriber
    return subscriber
