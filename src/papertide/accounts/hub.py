"""What a signed-in member does from the account page: their digest, and leaving.

The digest subscription belongs to an address, not to an account (anyone may subscribe from
the banner); a member's subscription is the one whose address is the account's. Subscribing
from the account page confirms at once: the address was proved by the emailed sign-in link,
which is exactly what the double opt-in mail would prove again (issue 10, docs/community.md).

Deleting an account erases the person: the account, its sign-in links, the digest
subscription of its address and every row that names them (votes, comments, collections,
follows cascade). Upvotes stay as anonymous counts on the papers, so a list does not
reshuffle when someone leaves.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine

from papertide.domain.subscribers import Preferences, Subscriber
from papertide.store.accounts import delete_user, get_user
from papertide.store.engine import begin_write
from papertide.store.subscribers import (
    confirm_subscriber,
    delete_subscriber,
    get_subscriber,
    get_subscriber_by_email,
    insert_subscriber,
    unsubscribe_subscriber,
)
from papertide.store.votes import delete_user_votes


@dataclass(frozen=True, slots=True)
class DeletionReport:
    """What deleting an account removed, for the log and the goodbye page."""

    deleted: bool
    votes_unlinked: int
    subscription_deleted: bool


def run_member_subscribe(engine: Engine, email: str, defaults: Preferences, *, now: dt.datetime) -> Subscriber:
    """Subscribe the member's own (already verified) address, confirmed at once; keeps earlier preferences."""
    with begin_write(engine) as conn:
        subscriber = get_subscriber_by_email(conn, email)
        if subscriber is None:
            subscriber = insert_subscriber(conn, email, defaults, status="confirmed", now=now)
            subscriber = subscriber or get_subscriber_by_email(conn, email)
        assert subscriber is not None
        confirm_subscriber(conn, subscriber.id, now)
        confirmed = get_subscriber(conn, subscriber.id)
    assert confirmed is not None
    return confirmed


def run_member_unsubscribe(engine: Engine, email: str, *, now: dt.datetime) -> Subscriber | None:
    """Stop the digest to the member's address at once; None when it never subscribed."""
    with begin_write(engine) as conn:
        subscriber = get_subscriber_by_email(conn, email)
        if subscriber is None:
            return None
        unsubscribe_subscriber(conn, subscriber.id, now)
        return get_subscriber(conn, subscriber.id)


def run_account_deletion(engine: Engine, user_id: int) -> DeletionReport:
    """Delete the account and what names the person, in one transaction; the upvote counts stay."""
    with begin_write(engine) as conn:
        user = get_user(conn, user_id)
        if user is None:
            return DeletionReport(deleted=False, votes_unlinked=0, subscription_deleted=False)
        votes = delete_user_votes(conn, user_id)
        subscriber = get_subscriber_by_email(conn, user.email)
        dropped = subscriber is not None and delete_subscriber(conn, subscriber.id)
        deleted = delete_user(conn, user_id)
    return DeletionReport(deleted=deleted, votes_unlinked=votes, subscription_deleted=dropped)
