"""Why a digest is empty: one reason a person can act on, for the CLI, the web preview and the run's summary.

An empty digest used to say "nothing new since their last digest" whatever happened, also to
someone who never had a digest (issue 10). The reasons, checked in this order, are the
subscriber's state (unconfirmed, unsubscribed, bouncing, paused), then the pool: nothing listed
in the look-back, nothing listed since the start of this digest, everything already sent, or
nothing matching their topics.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Container
from dataclasses import dataclass

from papertide.digest.select import CandidatePool
from papertide.domain.subscribers import Subscriber

NOT_CONFIRMED = "not-confirmed"
NOT_SUBSCRIBED = "unsubscribed"
BOUNCING = "bouncing"
PAUSED = "paused"
NO_PAPERS = "no-papers"
NOTHING_SINCE = "nothing-since"
ALL_SENT = "all-sent"
NO_TOPIC_MATCH = "no-topic-match"
NOT_DUE = "not-due"

SHORT = {
    NOT_CONFIRMED: "not confirmed",
    NOT_SUBSCRIBED: "unsubscribed",
    BOUNCING: "bouncing",
    PAUSED: "paused",
    NO_PAPERS: "no papers listed in the look-back",
    NOTHING_SINCE: "nothing listed since their last digest",
    ALL_SENT: "everything already sent",
    NO_TOPIC_MATCH: "nothing matched their topics",
    NOT_DUE: "not due yet (or paused)",
}
"""How each reason reads in a run's one-line summary."""


@dataclass(frozen=True, slots=True)
class EmptyReason:
    """Why a subscriber's digest holds nothing: a code to count by and a sentence to show."""

    code: str
    message: str


def state_reason(subscriber: Subscriber) -> EmptyReason | None:
    """The reason the subscriber's state alone stops their digest, or None when it does not."""
    if subscriber.status == "pending":
        return EmptyReason(NOT_CONFIRMED, "this address has not confirmed its subscription yet: no digest is sent")
    if subscriber.status == "unsubscribed":
        return EmptyReason(NOT_SUBSCRIBED, "this address is unsubscribed: no digest is sent")
    if subscriber.status == "bouncing":
        return EmptyReason(BOUNCING, "mail to this address kept bouncing, so digests stopped")
    if subscriber.preferences.frequency == "paused":
        return EmptyReason(PAUSED, "digests are paused in this subscriber's preferences")
    return None


def pool_reason(
    pool: CandidatePool,
    *,
    subscriber: Subscriber,
    since: dt.date,
    sent: Container[int],
    lookback_days: int,
) -> EmptyReason:
    """Why nothing in ``pool`` went into an empty selection for ``subscriber`` (papers listed ``since`` on)."""
    start = "their last digest" if subscriber.last_digest_at is not None else since.isoformat()
    if len(pool) == 0:
        return EmptyReason(
            NO_PAPERS,
            f"no papers were listed in the last {lookback_days} days (the digest's look-back)",
        )
    listed = [candidate for candidate in pool.ranked if candidate.listed_on >= since]
    if not listed:
        return EmptyReason(NOTHING_SINCE, f"no papers were listed since {start}")
    if all(candidate.paper_id in sent for candidate in listed):
        return EmptyReason(ALL_SENT, f"all {len(listed)} papers listed since {start} were already sent to them")
    return EmptyReason(NO_TOPIC_MATCH, f"none of the {len(listed)} papers listed since {start} matched their topics")
