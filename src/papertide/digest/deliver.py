"""Delivery: claim planned digests, compose each, send it through mail.transport, record the outcome.

Exactly once, step by step: a row is claimed (``sending``, this worker); the message is
composed and transmitted; at the transport's point of no return the commit hook marks the
row ``sent`` in its own transaction, which succeeds only while this worker still holds the
row and the subscriber is still confirmed; only then does the server get the final dot. A
kill before the hook leaves the row ``sending`` with nothing delivered, and the next run
takes it over (digest/workers.py); a kill after it leaves ``sent``.

Throughput: this thread claims rows and loads what they need; ``connections`` sender
threads, each with its own SMTP connection, compose and send. Each sender alternates about a
millisecond of composing with waits on the server and the database, so the threads overlap
well. (Composing in one thread while others only send does not: a thread waking from I/O
then waits up to the interpreter's 5 ms switch interval for the busy composer.)
digest/outcome.py records the results.
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType

from sqlalchemy import Engine

from papertide.digest.compose import DigestEntry, MailComposer, compose_excerpt
from papertide.digest.outcome import ClaimLost, DeliveryReport, Outcomes, StopDelivery
from papertide.digest.policy import DigestPolicy
from papertide.digest.schedule import select_period_label
from papertide.digest.workers import fetch_gone_workers
from papertide.mail.transport import (
    MailTransport,
    MessageRejected,
    PermanentFailure,
    RawMessage,
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
)
from papertide.store.subscribers import Subscriber, get_subscribers

log = logging.getLogger(__name__)
Clock = Callable[[], dt.datetime]
Advance = Callable[[int], None]
Transports = Callable[[], MailTransport]

__all__ = ["Delivery", "DeliveryReport", "Transports"]


@dataclass(frozen=True, slots=True)
class _Claimed:
    digest: ClaimedDigest
    subscriber: Subscriber | None
    items: list[PlannedItem]


class Delivery:
    """One worker's delivery over the outbox; use as a context manager around ``drain()`` calls."""

    def __init__(
        self,
        engine: Engine,
        transports: Transports,
        composer: MailComposer,
        *,
        policy: DigestPolicy,
        worker: str,
        clock: Clock,
        papers: dict[int, CandidatePaper] | None = None,
        advance: Advance | None = None,
    ) -> None:
        self.engine = engine
        self.transports = transports
        self.composer = composer
        self.policy = policy
        self.worker = worker
        self.clock = clock
        self.papers = dict(papers or {})
        self.excerpts: dict[int, str] = {}
        self.advance = advance
        self.outcomes = Outcomes(engine, policy=policy, worker=worker, clock=clock)
        self.report: DeliveryReport = self.outcomes.report
        self.stopping = threading.Event()
        self._queue: queue.Queue[_Claimed | None] = queue.Queue(maxsize=4 * policy.connections)
        self._senders: list[threading.Thread] = []
        self._crash: BaseException | None = None

    @property
    def next_retry(self) -> dt.datetime | None:
        """When the earliest digest this run put back for a retry falls due."""
        return self.outcomes.next_retry

    def __enter__(self) -> Delivery:
        for number in range(max(1, self.policy.connections)):
            thread = threading.Thread(target=self._send_loop, name=f"digest-sender-{number}", daemon=True)
            thread.start()
            self._senders.append(thread)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if error is not None:
            self.stopping.set()
        for _ in self._senders:
            self._queue.put(None)
        for thread in self._senders:
            thread.join()
        # Rows claimed but never tried (the run stopped, or crashed) go back to the queue untouched.
        with begin_write(self.engine) as conn:
            release(conn, None, self.worker)
        if self._crash is not None and error is None:
            raise self._crash

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
        while not self.stopping.is_set():
            with begin_write(self.engine) as conn:
                batch = claim_batch(conn, self.worker, self.clock(), self.policy.claim_batch)
            if not batch:
                break
            subscribers, items = self._load(batch)
            for digest in batch:
                if self.stopping.is_set():
                    break
                self._queue.put(_Claimed(digest, subscribers.get(digest.subscriber_id), items.get(digest.id, [])))
        self._queue.join()
        return not self.stopping.is_set()

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

    def _compose(self, claimed: _Claimed) -> RawMessage | None:
        digest, subscriber = claimed.digest, claimed.subscriber
        if subscriber is None:
            return None  # erased meanwhile; its outbox row went with it
        if subscriber.status != "confirmed":
            self.outcomes.cancel(digest, f"subscriber is {subscriber.status}")
            return None
        entries = [entry for item in claimed.items if (entry := self._entry(item)) is not None]
        if not entries:
            self.outcomes.cancel(digest, "its papers are no longer stored")
            return None
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
        self.outcomes.count(compose_seconds=time.perf_counter() - started)
        return message

    def _send_loop(self) -> None:
        transport: MailTransport | None = None
        try:
            transport = self.transports()
            transport.__enter__()
        except BaseException as error:
            self._fail_run(error)
            transport = None
        try:
            while True:
                claimed = self._queue.get()
                try:
                    if claimed is None:
                        return
                    if transport is not None and not self.stopping.is_set():
                        message = self._compose(claimed)
                        if message is not None:
                            self._send(transport, claimed, message)
                except StopDelivery:
                    self.stopping.set()
                except BaseException as error:
                    self._fail_run(error)
                finally:
                    self._queue.task_done()
        finally:
            if transport is not None:
                transport.__exit__(None, None, None)

    def _fail_run(self, error: BaseException) -> None:
        log.error("digest delivery stopped by an unexpected error: %r", error)
        if self._crash is None:
            self._crash = error
        self.stopping.set()

    def _send(self, transport: MailTransport, claimed: _Claimed, message: RawMessage) -> None:
        digest, subscriber = claimed.digest, claimed.subscriber
        assert subscriber is not None
        committed = False

        def commit() -> None:
            nonlocal committed
            self.outcomes.commit_sent(digest, subscriber)
            committed = True

        started = time.perf_counter()
        try:
            transport.send(message, commit=commit)
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
        finally:
            self.outcomes.count(send_seconds=time.perf_counter() - started)
        self.outcomes.sent()
        if self.advance is not None:
            self.advance(1)
