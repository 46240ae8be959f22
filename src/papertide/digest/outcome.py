"""Recording what became of each digest a worker tried to send: sent, retry later, failed, bounced, cancelled.

A digest the server accepted is recorded as sent in the worker's next write transaction,
which is usually the held check of the next digest (``check_held``): one transaction per
message instead of two, with the record still committed before the next message goes out,
so a worker killed in between duplicates at most the one message it had in hand (digest/deliver.py).
``flush`` records it when no next message follows (end of a batch, a stop, an error).

Writes here also refresh the worker's claims (store/deliveries.py ``touch_claims``), at most once
per ``claim_refresh``, so a worker that keeps delivering is never taken for a stopped one. Counters change under a lock
and the writes of one worker go through one lock too, so the object stays safe to share
between threads, though delivery runs in one thread per process (digest/deliver.py).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlalchemy import Connection, Engine

from papertide.digest.policy import DigestPolicy
from papertide.domain.clock import Clock
from papertide.domain.faults import reach_fault_point
from papertide.store.deliveries import (
    ClaimedDigest,
    HeldCheck,
    read_held,
    set_commit_wait,
    touch_claims,
    write_cancelled,
    write_failed,
    write_retry,
    write_sent,
)
from papertide.store.subscribers import Recipient, reset_bounces, write_bounce

log = logging.getLogger(__name__)


@dataclass
class DeliveryReport:
    """What delivery did in one run."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    bounced: int = 0
    cancelled: int = 0
    taken_over: int = 0
    compose_seconds: float = 0.0
    send_seconds: float = 0.0
    failure: str | None = None


class StopDelivery(Exception):
    """The run must stop delivering (the server is down or refuses us); the reason is in the report."""


class Outcomes:
    """The delivery and subscriber writes that follow each attempt, and the run's counters."""

    def __init__(
        self,
        engine: Engine,
        *,
        policy: DigestPolicy,
        worker: str,
        clock: Clock,
        on_sent: Callable[[int], None] | None = None,
    ) -> None:
        self.engine = engine
        self.on_sent = on_sent
        self.policy = policy
        self.worker = worker
        self.clock = clock
        self.report = DeliveryReport()
        self.next_retry: dt.datetime | None = None
        self._counters = threading.Lock()
        self._writes = threading.Lock()
        self._conn: Connection | None = None
        self._held: HeldCheck | None = None
        self._consecutive_failures = 0
        self._touched: dt.datetime | None = None
        # Accepted by the mail server, not yet recorded (see the module docstring).
        self._accepted: tuple[ClaimedDigest, Recipient] | None = None

    @contextlib.contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction on this worker's own connection (kept open: one commit per message).

        It first records the digest accepted last (``accepted``), if any, and refreshes the
        worker's claims too (at most once per ``claim_refresh``). After an error the connection
        is dropped and the next write opens a fresh one; the accepted digest stays to record.
        """
        with self._writes:
            conn = self._connection()
            assert self._held is not None
            try:
                self._held.end_autocommit()  # the per-message check's, kept between messages
            except BaseException:
                self.close()
                raise
            now = self.clock()
            touch = self._touch_due(now)
            accepted = self._accepted
            try:
                with conn.begin():
                    if accepted is not None:
                        self._record_sent(conn, *accepted, now)
                    yield conn
                    if touch:
                        touch_claims(conn, self.worker, now)
            except BaseException:
                self.close()
                raise
            if touch:
                self._touched = now
        if accepted is not None:
            self._recorded()

    def _connection(self) -> Connection:
        if self._conn is None:
            conn = self.engine.connect()
            try:
                conn.info["write"] = True  # BEGIN IMMEDIATE on SQLite (store/engine.py)
                # A commit per message, none waiting for the disk (see set_commit_wait: PostgreSQL only).
                set_commit_wait(conn, wait=False)
                self._held = HeldCheck(conn)
            except BaseException:
                conn.invalidate()
                conn.close()
                raise
            self._conn = conn
        return self._conn

    def _touch_due(self, now: dt.datetime) -> bool:
        # Refreshing every held row costs a write per row: once per claim_refresh is enough to
        # look alive (claim_timeout is many times longer), not once per message.
        return self._touched is None or now - self._touched >= self.policy.claim_refresh

    def _recorded(self) -> None:
        self._accepted = None
        reach_fault_point("after-commit")
        self.sent()

    def _record_sent(self, conn: Connection, digest: ClaimedDigest, recipient: Recipient, now: dt.datetime) -> None:
        if not write_sent(conn, digest.id, self.worker, now):
            log.warning("digest %d was already recorded as sent; this was a second copy", digest.id)
        if recipient.bounce_count:
            reset_bounces(conn, recipient.id)

    def close(self) -> None:
        """Give the write connection back to the pool, as it came (or discard it when that fails)."""
        if self._conn is not None:
            conn, held, self._conn, self._held = self._conn, self._held, None, None
            try:
                if held is not None:
                    held.end_autocommit()
                set_commit_wait(conn, wait=True)
            except Exception:
                with contextlib.suppress(Exception):
                    conn.invalidate()  # never back to the pool with this worker's settings
            with contextlib.suppress(Exception):
                conn.close()

    def count(self, **changes: float) -> None:
        """Add to the report's counters (thread-safe)."""
        with self._counters:
            for name, value in changes.items():
                setattr(self.report, name, getattr(self.report, name) + value)

    def check_held(self, digest: ClaimedDigest) -> str | None:
        """The subscriber's status while this worker still holds the digest; None when it does not.

        Committed in the same transaction as the record of the digest accepted before it.
        """
        accepted = self._accepted
        now = self.clock()  # one clock read per message
        if self._touch_due(now) or (accepted is not None and accepted[1].bounce_count):
            with self.write() as conn:  # the general path: also refreshes claims, resets bounces
                return read_held(conn, digest.id, self.worker)
        with self._writes:
            self._connection()
            assert self._held is not None
            sent = accepted[0].id if accepted is not None else None
            try:
                recorded, status = self._held.run(sent=sent, held=digest.id, worker=self.worker, now=now)
            except BaseException:
                self.close()
                raise
        if accepted is not None:
            if not recorded:
                log.warning("digest %d was already recorded as sent; this was a second copy", accepted[0].id)
            self._recorded()
        return status

    def accepted(self, digest: ClaimedDigest, recipient: Recipient) -> None:
        """The mail server accepted this digest (call it only then): it is recorded as sent by the next write.

        The caller must let a write happen (``check_held`` of the next digest, or ``flush``)
        before it sends another message, so that at most one accepted message is unrecorded.
        """
        if self._accepted is not None:
            raise RuntimeError(f"digest {self._accepted[0].id} was accepted but never recorded")
        self._accepted = (digest, recipient)

    def flush(self) -> None:
        """Record the digest accepted last, if it is not yet recorded."""
        if self._accepted is not None:
            with self.write():
                pass

    def sent(self) -> None:
        """A delivery went through and is recorded."""
        with self._counters:
            self.report.sent += 1
            self._consecutive_failures = 0
        if self.on_sent is not None:
            self.on_sent(1)

    def cancel(self, digest: ClaimedDigest, reason: str) -> None:
        """Drop a digest whose subscriber left, or whose papers are gone."""
        with self.write() as conn:
            if write_cancelled(conn, digest.id, self.worker, reason=reason):
                self.count(cancelled=1)

    def retry(self, digest: ClaimedDigest, error: str) -> None:
        """A temporary failure: back-off, or give up after the last attempt; may stop the run."""
        attempts = digest.attempts + 1
        with self.write() as conn:
            if attempts >= self.policy.max_attempts:
                gave_up = f"gave up after {attempts} attempts: {error}"
                if write_failed(conn, digest.id, self.worker, error=gave_up):
                    self.count(failed=1)
            else:
                when = self.clock() + self.policy.retry_delay(attempts)
                if write_retry(conn, digest.id, self.worker, next_attempt_at=when, error=error):
                    with self._counters:
                        self.report.retried += 1
                        self.next_retry = min(when, self.next_retry or when)
        log.warning("temporary failure sending digest %d (attempt %d): %s", digest.id, attempts, error)
        with self._counters:
            self._consecutive_failures += 1
            count = self._consecutive_failures
            if count >= self.policy.max_consecutive_failures and self.report.failure is None:
                self.report.failure = f"stopped after {count} temporary failures in a row; last: {error}"
        if count >= self.policy.max_consecutive_failures:
            raise StopDelivery

    def bounce(self, digest: ClaimedDigest, error: str) -> None:
        """The server refused the address: the digest fails and the address counts a bounce."""
        with self.write() as conn:
            if write_failed(conn, digest.id, self.worker, error=error):
                self.count(failed=1)
            if write_bounce(conn, digest.subscriber_id, limit=self.policy.bounce_limit, now=self.clock()):
                self.count(bounced=1)
        with self._counters:
            self._consecutive_failures = 0

    def fail(self, digest: ClaimedDigest, error: str) -> None:
        """The server refused this message for good."""
        with self.write() as conn:
            if write_failed(conn, digest.id, self.worker, error=error):
                self.count(failed=1)
        with self._counters:
            self._consecutive_failures = 0

    def stop(self, reason: str) -> None:
        """Record why the run stops delivering (the first reason wins)."""
        with self._counters:
            if self.report.failure is None:
                self.report.failure = reason
