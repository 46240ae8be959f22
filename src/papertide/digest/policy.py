"""The knobs of a digest run, passed down from the settings (config.py, "digest" section)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DigestPolicy:
    """How a run plans, retries and gives up; defaults match the documented settings."""

    # Scheduling: a slot may go out this late; papers count as new at most this far back.
    max_delay: dt.timedelta = dt.timedelta(hours=20)
    max_lookback: dt.timedelta = dt.timedelta(days=14)
    # Trending score (domain/trending.py) and the time zone whose calendar dates listings.
    trending_gravity: float = 1.8
    trending_offset_hours: float = 2.0
    list_timezone: str = "UTC"
    # How many search hits a free-text topic contributes before filtering by date.
    topic_hits: int = 200
    # Subscribers planned per database transaction, delivery rows claimed at once.
    plan_batch: int = 500
    claim_batch: int = 200
    # Processes delivering in one run (the run's own plus helpers), each with one connection.
    workers: int = 1
    # Retries of temporary failures: base * 4**(attempt-1), capped; then the digest fails.
    max_attempts: int = 6
    retry_base: dt.timedelta = dt.timedelta(minutes=1)
    retry_cap: dt.timedelta = dt.timedelta(hours=6)
    # A run waits this long for retries that fall due before it would otherwise end.
    retry_wait: dt.timedelta = dt.timedelta(seconds=90)
    # After this many temporary failures in a row the server is taken to be down: stop.
    max_consecutive_failures: int = 10
    # Permanent refusals of an address before it is marked bouncing.
    bounce_limit: int = 3
    # Rows held longer than this by a worker on another host are taken over.
    claim_timeout: dt.timedelta = dt.timedelta(minutes=10)
    # A delivering worker refreshes its claims this often (with the write that records a message).
    claim_refresh: dt.timedelta = dt.timedelta(seconds=30)
    # Unconfirmed sign-ups are forgotten after this long.
    pending_expiry: dt.timedelta = dt.timedelta(days=7)
    # The unsubscribe page's undo button works this long after the unsubscribe, then a new
    # double opt-in is needed: an old link in a forwarded mail must not re-subscribe anyone.
    undo_window: dt.timedelta = dt.timedelta(minutes=15)

    def retry_delay(self, attempt: int) -> dt.timedelta:
        """Back-off before attempt ``attempt + 1`` (attempt counts from 1)."""
        delay: dt.timedelta = self.retry_base * (4 ** max(attempt - 1, 0))
        return min(delay, self.retry_cap)
