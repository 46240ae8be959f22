"""Delivery: claim planned digests, compose each, send it through mail.transport, record the outcome.

Exactly once, step by step: a row is claimed (``sending``, this worker); the message is
composed and transmitted; at the transport's point of no return the commit hook marks the
row ``sent`` in its own transaction, which succeeds only while this worker still holds the
row and the subscriber is still confirmed; only then does the server get the final dot. A
kill before the hook leaves the row ``sending`` with nothing delivered, and the next run
takes it over (digest/workers.py); a kill after it leaves ``sent``. Temporary failures go
back to the queue with exponential back-off; permanent refusals of the address count toward
marking it bouncing; a server that keeps failing, or refuses us outright, stops the run.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine

from papertide.digest.compose import DigestEntry, MailComposer, compose_excerpt
from papertide.digest.policy import DigestPolicy
from papertide.digest.schedule import select_period_label
from papertide.digest.workers import fetch_gone_workers
from papertide.mail.transport import (
    MailTransport,
    MessageRejected,
    PermanentFailure,
    RecipientRefused,
    TemporaryFailure,
)
from papertide.store.engine import begin_write
from papertide.store.outbox import (
    CandidatePaper,
    ClaimedDigest,
    PlannedItem,
    claim_batch,
    get_candidate_papers,
    list_claimers,
    list_items,
    release,
    release_claims,
    write_cancelled,
    write_failed,
    write_retry,
    write_sent,
)
from papertide.store.subscribers import Subscriber, get_subscriber, get_subscribers, reset_bounces, write_bounce

log = logging.getLogger(__name__)
Clock = Callable[[], dt.datetime]
Sleep = Callable[[float], None]
Advance = Callable[[int], None]


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


class ClaimLost(Exception):
    """The row is no longer this worker's to send (taken over, or the subscriber left)."""


class _Stop(Exception):
    """The run must stop delivering (the server is down or refuses us)."""


class Delivery:
    """One worker's delivery loop over the outbox."""

    def __init__(
        self,
        engine: Engine,
        transport: MailTransport,
        composer: MailComposer,
        *,
        policy: DigestPolicy,
        worker: str,
        clock: Clock,
        papers: dict[int, CandidatePaper] | None = None,
        advance: Advance | None = None,
    ) -> None:
        self.engine = engine
        self.transport = transport
        self.composer = composer
        self.policy = policy
        self.worker = worker
        self.clock = clock
        self.papers = dict(papers or {})
        self.excerpts: dict[int, str] = {}
        self.advance = advance
        self.report = DeliveryReport()
        self.consecutive_failures = 0
        self.next_retry: dt.datetime | None = None

    def take_over_gone_workers(self) -> None:
        """Requeue rows held by workers that died (see digest/workers.py)."""
        with self.engine.connect() as conn:
            claimers = list_claimers(conn)
        gone = fetch_gone_workers(claimers, me=self.worker, now=self.clock(), claim_timeout=self.policy.claim_timeout)
        if gone:
            with begin_write(self.engine) as conn:
                self.report.taken_over += release_claims(conn, gone)
            log.info("took over %d digests from stopped workers %s", self.report.taken_over, gone)

    def drain(self) -> bool:
        """Send every row that is due now; False when the run had to stop."""
        while True:
            with begin_write(self.engine) as conn:
                batch = claim_batch(conn, self.worker, self.clock(), self.policy.claim_batch)
            if not batch:
                return True
            held = [digest.id for digest in batch]
            try:
                subscribers, items = self._load(batch)
                for digest in batch:
                    self._deliver(digest, subscribers.get(digest.subscriber_id), items.get(digest.id, []))
                    held.remove(digest.id)
            except _Stop:
                return False
            finally:
                if held:
                    with begin_write(self.engine) as conn:
                        release(conn, held, self.worker)

    def _load(self, batch: list[ClaimedDigest]) -> tuple[dict[int, Subscriber], dict[int, list[PlannedItem]]]:
        with self.engine.connect() as conn:
            subscribers = get_subscribers(conn, sorted({digest.subscriber_id for digest in batch}))
            items = list_items(conn, [digest.id for digest in batch])
            missing = sorted({i.paper_id for rows in items.values() for i in rows} - self.papers.keys())
            if missing:
                self.papers.update({paper.id: paper for paper in get_candidate_papers(conn, missing)})
        return subscribers, items

    def _entry(self, item: PlannedItem) -> DigestEntry | None:
        paper = self.papers.get(item.paper_id)
        if paper is None:
            return None
        excerpt = self.excerpts.get(paper.id)
        if excerpt is None:
            excerpt = self.excerpts[paper.id] = compose_excerpt(paper.abstract)
        return DigestEntry(
            paper_id=paper.id,
            arxiv_id=paper.arxiv_id,
            title=paper.title,
            authors=paper.authors,
            excerpt=excerpt,
            upvotes=paper.upvotes,
            reason=item.reason,
        )

    def _deliver(self, digest: ClaimedDigest, subscriber: Subscriber | None, items: list[PlannedItem]) -> None:
        if subscriber is None:
            return  # erased meanwhile; its outbox row went with it
        if subscriber.status != "confirmed":
            self._cancel(digest, f"subscriber is {subscriber.status}")
            return
        entries = [entry for item in items if (entry := self._entry(item)) is not None]
        if not entries:
            self._cancel(digest, "its papers are no longer stored")
            return
        started = time.perf_counter()
        frequency, label = select_period_label(digest.period_key)
        message = self.composer.compose_digest(
            subscriber_id=subscriber.id,
            email=subscriber.email,
            frequency=frequency,
            period_label=label,
            message_id=digest.message_id,
            entries=entries,
            now=self.clock(),
        )
        composed = time.perf_counter()
        self.report.compose_seconds += composed - started
        committed = False

        def commit() -> None:
            nonlocal committed
            with begin_write(self.engine) as conn:
                if not write_sent(conn, digest.id, self.worker, self.clock()):
                    raise ClaimLost(digest.id)
                if subscriber.bounce_count:
                    reset_bounces(conn, subscriber.id)
            committed = True

        try:
            self.transport.send(message, commit=commit)
        except ClaimLost:
            self._after_lost_claim(digest)
            return
        except TemporaryFailure as error:
            self._retry(digest, str(error), "sent" if committed else "sending")
            return
        except RecipientRefused as error:
            self._bounce(digest, str(error), "sent" if committed else "sending")
            return
        except MessageRejected as error:
            self._fail(digest, str(error), "sent" if committed else "sending")
            return
        except PermanentFailure as error:
            # Refused as a sender, or a login refused: every message would fail the same way.
            self.report.failure = f"the mail server refuses to take mail from us: {error}"
            raise _Stop from error
        finally:
            self.report.send_seconds += time.perf_counter() - composed
        self.report.sent += 1
        self.consecutive_failures = 0
        if self.advance is not None:
            self.advance(1)

    def _cancel(self, digest: ClaimedDigest, reason: str) -> None:
        with begin_write(self.engine) as conn:
            if write_cancelled(conn, digest.id, self.worker, reason=reason):
                self.report.cancelled += 1

    def _after_lost_claim(self, digest: ClaimedDigest) -> None:
        with self.engine.connect() as conn:
            subscriber = get_subscriber(conn, digest.subscriber_id)
        if subscriber is not None and subscriber.status != "confirmed":
            self._cancel(digest, f"subscriber is {subscriber.status}")
        else:
            log.info("digest %d was taken over by another worker; not sent here", digest.id)

    def _retry(self, digest: ClaimedDigest, error: str, state: str) -> None:
        attempts = digest.attempts + 1
        with begin_write(self.engine) as conn:
            if attempts >= self.policy.max_attempts:
                if write_failed(
                    conn, digest.id, self.worker, error=f"gave up after {attempts} attempts: {error}", state=state
                ):
                    self.report.failed += 1
            else:
                when = self.clock() + self.policy.retry_delay(attempts)
                if write_retry(conn, digest.id, self.worker, next_attempt_at=when, error=error, state=state):
                    self.report.retried += 1
                    self.next_retry = min(when, self.next_retry or when)
        log.warning("temporary failure sending digest %d (attempt %d): %s", digest.id, attempts, error)
        self.consecutive_failures += 1
        if self.consecutive_failures >= self.policy.max_consecutive_failures:
            self.report.failure = (
                f"stopped after {self.consecutive_failures} temporary failures in a row; last: {error}"
            )
            raise _Stop

    def _bounce(self, digest: ClaimedDigest, error: str, state: str) -> None:
        with begin_write(self.engine) as conn:
            if write_failed(conn, digest.id, self.worker, error=error, state=state):
                self.report.failed += 1
            if write_bounce(conn, digest.subscriber_id, limit=self.policy.bounce_limit, now=self.clock()):
                self.report.bounced += 1
        self.consecutive_failures = 0

    def _fail(self, digest: ClaimedDigest, error: str, state: str) -> None:
        with begin_write(self.engine) as conn:
            if write_failed(conn, digest.id, self.worker, error=error, state=state):
                self.report.failed += 1
        self.consecutive_failures = 0
