"""Delivery: claim planned digests, compose each, send it through mail.transport, record the outcome.

Exactly once, step by step: a row is claimed (``sending``, this worker); the message is
composed and transmitted; at the transport's point of no return the commit hook marks the
row ``sent`` in its own transaction, which succeeds only while this worker still holds the
row and the subscriber is still confirmed; only then does the server get the final dot. A
kill before the hook leaves the row ``sending`` with nothing delivered, and the next run
takes it over (digest/workers.py); a kill after it leaves ``sent``.

Everything runs in one thread. That is deliberate: with a second busy thread in the process,
a thread whose commit just returned can wait up to the interpreter's 5 ms switch interval for
the GIL before it writes the final dot, which widens the window above from microseconds to
milliseconds (the kill tests caught it). Parallel delivery uses worker processes instead
(digest/parallel.py), each single-threaded; digest/outcome.py records the results.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable

from sqlalchemy import Engine

from papertide.digest.compose import DigestEntry, MailComposer
from papertide.digest.outcome import ClaimLost, DeliveryReport, Outcomes, StopDelivery
from papertide.digest.policy import DigestPolicy
from papertide.digest.schedule import select_period_label
from papertide.digest.workers import fetch_gone_workers
from papertide.domain.clock import Clock
from papertide.domain.subscribers import Subscriber
from papertide.mail.transport import (
    MailTransport,
    MessageRejected,
    PermanentFailure,
    RawMessage,
    RecipientRefused,
    TemporaryFailure,
)
from papertide.store.deliveries import (
    CandidatePaper,
    ClaimedDigest,
    PlannedItem,
    claim_batch,
    get_candidate_papers,
    list_claimers,
    list_delivery_items,
    release_claims,
    release_deliveries,
)
from papertide.store.engine import begin_write
from papertide.store.subscribers import get_subscribers

log = logging.getLogger(__name__)
Advance = Callable[[int], None]
Transports = Callable[[], MailTransport]

__all__ = ["Delivery", "DeliveryReport", "Transports"]


class Delivery:
    """One worker's delivery loop over the delivery queue, on one transport."""

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
        should_stop: Callable[[], bool] = lambda: False,
    ) -> None:
        self.engine = engine
        self.transport = transport
        self.composer = composer
        self.policy = policy
        self.worker = worker
        self.clock = clock
        self.papers = dict(papers or {})
        self.advance = advance
        self.should_stop = should_stop
        self.outcomes = Outcomes(engine, policy=policy, worker=worker, clock=clock)
        self.report: DeliveryReport = self.outcomes.report

    def close(self) -> None:
        """Release the worker's database connection."""
        self.outcomes.close()

    @property
    def next_retry(self) -> dt.datetime | None:
        """When the earliest digest this run put back for a retry falls due."""
        return self.outcomes.next_retry

    def take_over_gone_workers(self) -> None:
        """Requeue rows held by workers that died (see digest/workers.py)."""
        with self.engine.connect() as conn:
            claimers = list_claimers(conn)
        gone = fetch_gone_workers(claimers, me=self.worker, now=self.clock(), claim_timeout=self.policy.claim_timeout)
        if gone:
            with begin_write(self.engine) as conn:
                taken = release_claims(conn, gone)
            self.outcomes.count(taken_over=taken)
            log.info("took over %d digests from stopped workers %s", taken, gone)

    def drain(self) -> bool:
        """Send every row that is due now; False when the run had to stop."""
        while not self.should_stop():
            with begin_write(self.engine) as conn:
                batch = claim_batch(conn, self.worker, self.clock(), self.policy.claim_batch)
            if not batch:
                return True
            held = [digest.id for digest in batch]
            try:
                subscribers, items = self._load(batch)
                for digest in batch:
                    if self.should_stop():
                        return False
                    self._deliver(digest, subscribers.get(digest.subscriber_id), items.get(digest.id, []))
                    held.remove(digest.id)
            except StopDelivery:
                return False
            finally:
                if held:
                    with begin_write(self.engine) as conn:
                        release_deliveries(conn, held, self.worker)
        return False

    def _load(self, batch: list[ClaimedDigest]) -> tuple[dict[int, Subscriber], dict[int, list[PlannedItem]]]:
        with self.engine.connect() as conn:
            subscribers = get_subscribers(conn, sorted({digest.subscriber_id for digest in batch}))
            items = list_delivery_items(conn, [digest.id for digest in batch])
            missing = sorted({i.paper_id for rows in items.values() for i in rows} - self.papers.keys())
            if missing:
                self.papers.update({paper.id: paper for paper in get_candidate_papers(conn, missing)})
        return subscribers, items

    def _entry(self, item: PlannedItem) -> DigestEntry | None:
        paper = self.papers.get(item.paper_id)
        if paper is None:
            return None
        return DigestEntry(
            paper_id=paper.id,
            arxiv_id=paper.arxiv_id,
            title=paper.title,
            authors=paper.authors,
            abstract=paper.abstract,
            upvotes=paper.upvotes,
            reason=item.reason,
        )

    def _deliver(self, digest: ClaimedDigest, subscriber: Subscriber | None, items: list[PlannedItem]) -> None:
        if subscriber is None:
            return  # erased meanwhile; its delivery row went with it
        if subscriber.status != "confirmed":
            self.outcomes.cancel(digest, f"subscriber is {subscriber.status}")
            return
        entries = [entry for item in items if (entry := self._entry(item)) is not None]
        if not entries:
            self.outcomes.cancel(digest, "its papers are no longer stored")
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
        self._send(digest, subscriber, message)
        self.report.send_seconds += time.perf_counter() - composed

    def _send(self, digest: ClaimedDigest, subscriber: Subscriber, message: RawMessage) -> None:
        committed = False

        def commit() -> None:
            nonlocal committed
            self.outcomes.commit_sent(digest, subscriber)
            committed = True

        try:
            self.transport.send(message, commit=commit)
        except ClaimLost:
            self.outcomes.lost_claim(digest)
            return
        except TemporaryFailure as error:
            self.outcomes.retry(digest, str(error), "sent" if committed else "sending")
            return
        except RecipientRefused as error:
            self.outcomes.bounce(digest, str(error), "sent" if committed else "sending")
            return
        except MessageRejected as error:
            self.outcomes.fail(digest, str(error), "sent" if committed else "sending")
            return
        except PermanentFailure as error:
            # Refused as a sender, or a login refused: every message would fail the same way.
            self.outcomes.stop(f"the mail server refuses to take mail from us: {error}")
            raise StopDelivery from error
        self.outcomes.sent()
        if self.advance is not None:
            self.advance(1)
