"""Delivery: claim planned digests, compose each, send it through mail.transport, record the outcome.

Never lose a digest (issue 9), step by step: a batch of rows is claimed (``sending``, this
worker); before each message the worker checks that it still holds the row and that the
subscriber is still confirmed; the message is sent, and only once the mail server has
answered 250 to the final dot (or the file outbox has the file durably in place) is the row
marked ``sent``, in one transaction with the next digest's held check, before that digest is
sent (digest/outcome.py: one commit per message, not two). Two overlaps fill the waits (issue 13):
a digest's envelope goes out before its held check (``announce``; a digest the check stops is
withdrawn with its connection, its DATA never ended), and the batch's next digest is composed while
the server takes the current one (``send``'s ``meanwhile``). A kill before that answer leaves
the row ``sending`` with at most an unfinished transaction, which the server discards; the
next run takes the row over
(digest/workers.py) and sends it. A kill between the answer and the commit also leaves it
``sending``: the next run sends it again, with the same Message-ID (stored with the row at
planning), so a killed worker duplicates at most the one message it had in hand. The named
fault points (domain/faults.py) stop a test process in each of these windows.

Everything runs in one thread; parallel delivery uses worker processes instead
(digest/parallel.py), each single-threaded, so composing is not serialised by the GIL.
digest/outcome.py records the results.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence

from sqlalchemy import Engine

from papertide.digest.compose import DigestEntry, MailComposer
from papertide.digest.outcome import DeliveryReport, Outcomes, StopDelivery
from papertide.digest.policy import DigestPolicy
from papertide.digest.schedule import select_period_label
from papertide.digest.workers import fetch_gone_workers
from papertide.domain.clock import Clock
from papertide.domain.faults import reach_fault_point
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
    claim_batch,
    get_candidate_papers,
    list_claimers,
    release_claims,
    release_deliveries,
)
from papertide.store.engine import begin_write
from papertide.store.selections import PlannedItem, list_selection_items
from papertide.store.subscribers import Recipient, get_recipients

log = logging.getLogger(__name__)
Advance = Callable[[int], None]
Transports = Callable[[], MailTransport]

__all__ = ["Delivery", "DeliveryReport", "Transports"]

# Selections whose entries a worker keeps: a run has a few thousand distinct ones; beyond this the
# least recently used go (a worker draining several days' queue must not grow without bound).
SELECTION_CACHE = 4096


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
        freeze: Callable[[], None] | None = None,
    ) -> None:
        """:param freeze: called after each batch, e.g. ``gc.freeze``: what the batch added to the worker's
        caches (selections, papers, the composer's cards, digest bodies and lines) then stays out of the
        collector's full passes (digest/heap.py). None: nothing frozen here.
        """
        self.engine = engine
        self.transport = transport
        self.composer = composer
        self.policy = policy
        self.worker = worker
        self.clock = clock
        self.papers = dict(papers or {})
        self.advance = advance
        self.should_stop = should_stop
        self.freeze = freeze
        self.outcomes = Outcomes(engine, policy=policy, worker=worker, clock=clock, on_sent=advance)
        self.report: DeliveryReport = self.outcomes.report
        # Selection id -> its digest entries, built once per selection, not once per message.
        self.selections: OrderedDict[int, tuple[DigestEntry, ...]] = OrderedDict()
        # (frequency, label) by period key: a run has one or two periods and many messages.
        self._periods: dict[str, tuple[str, str]] = {}
        # The next digest of the batch, composed while the mail server took the one before (issue 13):
        # (its delivery row id, the message), used if it is still to be sent when its turn comes.
        self._ahead: tuple[int, RawMessage] | None = None

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
            reach_fault_point("after-claim")
            held = [digest.id for digest in batch]
            try:
                recipients = self._load(batch)
                for position, digest in enumerate(batch):
                    if self.should_stop():
                        return False
                    following = batch[position + 1] if position + 1 < len(batch) else None
                    self._deliver(digest, recipients, following)
                    held.remove(digest.id)
            except StopDelivery:
                return False
            finally:
                self._ahead = None  # composed for this claim only
                try:
                    self.outcomes.flush()
                finally:
                    if held:
                        with begin_write(self.engine) as conn:
                            release_deliveries(conn, held, self.worker)
            if self.freeze is not None:
                # The caches grow with every batch and live as long as the worker: without this, every
                # collection of the older generations walked them again (issue 13; digest/heap.py). Freezing
                # is a constant-time list splice; a batch's garbage is freed by reference counting as before.
                self.freeze()
        return False

    def _load(self, batch: list[ClaimedDigest]) -> dict[int, Recipient]:
        """The batch's recipients; the entries of its selections not seen yet are read into ``selections``.

        Two reads per batch: the claim already returned each row's selection (issue 13). Every
        selection of the batch is in ``selections`` when this returns, until the next call.
        """
        with self.engine.connect() as conn:
            recipients = get_recipients(conn, sorted({digest.subscriber_id for digest in batch}))
            unseen = sorted({digest.selection_id for digest in batch} - self.selections.keys())
            items = list_selection_items(conn, unseen) if unseen else {}
            missing = sorted({i.paper_id for rows in items.values() for i in rows} - self.papers.keys())
            if missing:
                self.papers.update({paper.id: paper for paper in get_candidate_papers(conn, missing)})
        for selection_id in unseen:
            self.selections[selection_id] = self._entries(items.get(selection_id, ()))
        for digest in batch:
            self.selections.move_to_end(digest.selection_id)
        # The batch's own selections are the most recent: trimming never drops one still needed.
        while len(self.selections) > max(SELECTION_CACHE, len(batch)):
            self.selections.popitem(last=False)
        return recipients

    def _entries(self, items: Sequence[PlannedItem]) -> tuple[DigestEntry, ...]:
        """A selection's entries, without the papers no longer stored."""
        return tuple(entry for item in items if (entry := self._entry(item)) is not None)

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

    def _deliver(
        self, digest: ClaimedDigest, recipients: dict[int, Recipient], following: ClaimedDigest | None
    ) -> None:
        """Send one digest of the batch; ``following`` (the batch's next, if any) is composed while it goes out."""
        ahead, self._ahead = self._ahead, None
        recipient = recipients.get(digest.subscriber_id)
        if recipient is None:
            return  # erased meanwhile; its delivery row went with it
        entries = self.selections[digest.selection_id]
        message = None
        if entries:
            started = time.perf_counter()
            # A message composed ahead, or now: composing decides nothing (the held check below does), and a
            # message composed a moment early differs at most in its Date header's second.
            message = (
                ahead[1] if ahead is not None and ahead[0] == digest.id else self._compose(digest, recipient, entries)
            )
            self.report.compose_seconds += time.perf_counter() - started
            # Its envelope goes out before the held check, so the server answers it during the check's
            # transaction (issue 13); nothing of the message goes out until the check said "send".
            self.transport.announce(message)
            reach_fault_point("after-envelope")
        # Checked again right before sending: an unsubscribe stops a digest up to the last moment, and
        # a row another worker took over (we were thought stopped) is theirs to send, not ours.
        try:
            status = self.outcomes.check_held(digest)
        except BaseException:
            self.transport.withdraw()
            raise
        if status != "confirmed" or message is None:
            self.transport.withdraw()
        if status is None:
            log.info("digest %d is no longer held by this worker; not sent here", digest.id)
            return
        if status != "confirmed":
            self.outcomes.cancel(digest, f"subscriber is {status}")
            return
        if message is None:
            self.outcomes.cancel(digest, "its papers are no longer stored")
            return
        composed = time.perf_counter()
        meanwhile = None
        if following is not None:

            def meanwhile() -> None:
                self._compose_ahead(following, recipients.get(following.subscriber_id))

        self._send(digest, recipient, message, meanwhile)
        self.report.send_seconds += time.perf_counter() - composed

    def _compose(self, digest: ClaimedDigest, recipient: Recipient, entries: Sequence[DigestEntry]) -> RawMessage:
        period = self._periods.get(digest.period_key)
        if period is None:
            period = self._periods[digest.period_key] = select_period_label(digest.period_key)
        frequency, label = period
        return self.composer.compose_digest(
            subscriber_id=recipient.id,
            email=recipient.email,
            frequency=frequency,
            period_label=label,
            message_id=digest.message_id,
            entries=entries,
            now=self.clock(),
        )

    def _compose_ahead(self, digest: ClaimedDigest, recipient: Recipient | None) -> None:
        """Compose ``digest`` now, while the mail server takes the message before it (issue 13).

        Waiting for the server's answer to each message's final dot left the worker idle (~0.2 ms a
        message against a local server); composing, pure CPU that touches neither the database nor the
        connection, fills that wait. Nothing is decided here: the digest's held check still comes first
        in its turn, and a message not used then is dropped. Never raises: a digest that fails to
        compose is composed again in its turn, where the error surfaces as it did before.
        """
        entries = self.selections.get(digest.selection_id)
        if recipient is None or not entries:
            return
        started = time.perf_counter()
        try:
            self._ahead = (digest.id, self._compose(digest, recipient, entries))
        except Exception:  # see the docstring: it surfaces in the digest's own turn
            log.debug("digest %d could not be composed ahead; it is composed again in its turn", digest.id)
        spent = time.perf_counter() - started
        self.report.compose_seconds += spent
        self.report.send_seconds -= spent  # counted in compose, not in the wait for the server

    def _send(
        self,
        digest: ClaimedDigest,
        recipient: Recipient,
        message: RawMessage,
        meanwhile: Callable[[], None] | None = None,
    ) -> None:
        try:
            self.transport.send(message, meanwhile)
        except TemporaryFailure as error:
            self.outcomes.retry(digest, str(error))
            return
        except RecipientRefused as error:
            self.outcomes.bounce(digest, str(error))
            return
        except MessageRejected as error:
            self.outcomes.fail(digest, str(error))
            return
        except PermanentFailure as error:
            # Refused as a sender, or a login refused: every message would fail the same way.
            self.outcomes.stop(f"the mail server refuses to take mail from us: {error}")
            raise StopDelivery from error
        # Accepted: only now may the row say so. It is recorded with the next held check (or at the end
        # of the batch), before any other message goes out: a kill until then means one duplicate.
        self.outcomes.accepted(digest, recipient)
