"""One worker's delivery loop: it sends only rows it still holds, records only what the server accepted,
and keeps its claims fresh while it works."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from email.message import EmailMessage
from types import TracebackType

import pytest
from sqlalchemy import Engine, select, update

from papertide.digest.compose import MailComposer
from papertide.digest.deliver import Delivery
from papertide.digest.plan import run_planning
from papertide.digest.policy import DigestPolicy
from papertide.domain.clock import as_utc
from papertide.mail.transport import RawMessage, SmtpTransport
from papertide.store.deliveries import claim_batch, list_claimers, release_claims
from papertide.store.engine import begin_write
from papertide.store.schema import digest_outbox, subscribers
from tests.digest.digest_data import NOW, add_subscriber, make_paper, store_papers
from tests.digest.smtp_sink import SmtpSink


class Watched:
    """A real SMTP transport that runs ``after_send`` once the server accepted each message."""

    def __init__(self, url: str, after_send: Callable[[int], None]) -> None:
        self.inner = SmtpTransport(url)
        self.after_send = after_send
        self.sent = 0
        self.sending = False  # inside the real transport's send, i.e. while a message is on the wire
        self.announced: list[str] = []  # whose envelopes went out ahead, in order
        self.on_announce: Callable[[], None] = lambda: None

    def __enter__(self) -> Watched:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.inner.close()

    def announce(self, message: RawMessage) -> None:
        self.announced.append(message.recipients[0])
        self.on_announce()
        self.inner.announce(message)

    def withdraw(self) -> None:
        self.inner.withdraw()

    def send(self, message: EmailMessage | RawMessage, meanwhile: Callable[[], None] | None = None) -> None:
        self.sending = True
        try:
            self.inner.send(message, meanwhile)
        finally:
            self.sending = False
        self.sent += 1
        self.after_send(self.sent)


class Clock:
    """Moves one minute forward each time it is read."""

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> dt.datetime:
        self.now += dt.timedelta(minutes=1)
        return self.now


def plan(engine: Engine, composer: MailComposer, count: int) -> None:
    store_papers(engine, [make_paper(i, upvotes=i) for i in range(1, 6)])
    for i in range(count):
        add_subscriber(engine, f"reader{i}@example.org")
    run_planning(engine, now=NOW, policy=DigestPolicy(), message_id=composer.site.make_message_id)


def test_rows_taken_over_while_a_worker_sends_are_left_to_their_new_holder(
    engine: Engine, smtp_sink: SmtpSink, composer: MailComposer
) -> None:
    plan(engine, composer, 3)

    def taken_over(sent: int) -> None:
        if sent == 1:  # the worker was thought stopped: its rows go back and another worker claims them
            with begin_write(engine) as conn:
                release_claims(conn, ["worker-a"])
                claim_batch(conn, "worker-b", NOW, 10)

    with Watched(smtp_sink.url, taken_over) as transport:
        delivery = Delivery(engine, transport, composer, policy=DigestPolicy(), worker="worker-a", clock=Clock())
        assert delivery.drain()
        delivery.close()
    assert delivery.report.sent == 1
    assert [m.recipients for m in smtp_sink.received] == [("reader0@example.org",)]
    with engine.connect() as conn:
        rows = conn.execute(select(digest_outbox.c.state, digest_outbox.c.claimed_by).order_by(digest_outbox.c.id))
        # The first message went out: it is recorded as sent although its claim was released meanwhile.
        assert [tuple(row) for row in rows] == [("sent", "worker-a"), ("sending", "worker-b"), ("sending", "worker-b")]


def test_each_recorded_message_refreshes_the_claims_the_worker_still_holds(
    engine: Engine, smtp_sink: SmtpSink, composer: MailComposer
) -> None:
    plan(engine, composer, 4)
    oldest: list[dt.datetime] = []

    def look(sent: int) -> None:
        with engine.connect() as conn:
            oldest.append(min(claimed_at for _, claimed_at in list_claimers(conn)))

    with Watched(smtp_sink.url, look) as transport:
        delivery = Delivery(engine, transport, composer, policy=DigestPolicy(), worker="worker-a", clock=Clock())
        assert delivery.drain()
        delivery.close()
    assert delivery.report.sent == 4
    assert oldest == sorted(oldest) and len(set(oldest)) == 4, "claims should move forward with every message"
    received = Counter(address for message in smtp_sink.received for address in message.recipients)
    assert received == {f"reader{i}@example.org": 1 for i in range(4)}


# Claims refreshed once an hour: the per-message path (HeldCheck), not the general write, records each message.
QUIET = DigestPolicy(claim_refresh=dt.timedelta(hours=1))


def sent_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return len(conn.execute(select(digest_outbox.c.id).where(digest_outbox.c.state == "sent")).all())


def test_each_accepted_message_is_recorded_sent_before_the_next_one_goes_out(
    engine: Engine, smtp_sink: SmtpSink, composer: MailComposer
) -> None:
    # The record of a message rides on the next message's held check: never later, or a kill would
    # resend more than the one message in hand.
    plan(engine, composer, 4)
    recorded_when_accepted: list[int] = []
    with Watched(smtp_sink.url, lambda sent: recorded_when_accepted.append(sent_count(engine))) as transport:
        delivery = Delivery(engine, transport, composer, policy=QUIET, worker="worker-a", clock=Clock())
        assert delivery.drain()
        delivery.close()
    assert recorded_when_accepted == [0, 1, 2, 3]
    assert sent_count(engine) == 4
    assert delivery.report.sent == 4


def test_a_worker_told_to_stop_records_the_message_it_sent_last_and_gives_the_rest_back(
    engine: Engine, smtp_sink: SmtpSink, composer: MailComposer
) -> None:
    plan(engine, composer, 3)
    with Watched(smtp_sink.url, lambda sent: None) as transport:
        delivery = Delivery(
            engine,
            transport,
            composer,
            policy=QUIET,
            worker="worker-a",
            clock=Clock(),
            should_stop=lambda: transport.sent >= 1,
        )
        assert not delivery.drain()
        delivery.close()
    assert delivery.report.sent == 1
    with engine.connect() as conn:
        states = [row.state for row in conn.execute(select(digest_outbox.c.state).order_by(digest_outbox.c.id))]
    assert states == ["sent", "queued", "queued"], "the accepted message must not go back to the queue"


def test_sent_rows_carry_their_send_time_in_the_form_the_database_layer_reads_back(
    engine: Engine, smtp_sink: SmtpSink, composer: MailComposer
) -> None:
    plan(engine, composer, 3)
    clock = Clock()
    with Watched(smtp_sink.url, lambda sent: None) as transport:
        delivery = Delivery(engine, transport, composer, policy=QUIET, worker="worker-a", clock=clock)
        assert delivery.drain()
        delivery.close()
    with engine.connect() as conn:
        rows = conn.execute(select(digest_outbox.c.sent_at, digest_outbox.c.claimed_at)).all()
        if engine.dialect.name == "sqlite":
            stored = conn.exec_driver_sql("SELECT sent_at, claimed_at FROM digest_outbox").all()
            # Written as SQLAlchemy writes every other timestamp: same text form as claimed_at.
            assert all(len(sent) == len(claimed) and "+" not in sent for sent, claimed in stored)
    assert all(NOW < as_utc(sent_at) <= clock.now and sent_at >= claimed_at for sent_at, claimed_at in rows)


def unsubscribe_after_first(engine: Engine, address: str) -> Callable[[int], None]:
    """An ``after_send`` that unsubscribes ``address`` once the first message was accepted."""

    def unsubscribe(sent: int) -> None:
        if sent == 1:
            with begin_write(engine) as conn:
                conn.execute(update(subscribers).where(subscribers.c.email == address).values(status="unsubscribed"))

    return unsubscribe


def composed_while_sending(monkeypatch: pytest.MonkeyPatch, composer: MailComposer, transport: Watched) -> list[str]:
    """Each digest composed from now on, as "<address> on the wire" or "<address> alone"."""
    composed: list[str] = []
    compose = composer.compose_digest

    def recorded(**arguments: object) -> RawMessage:
        composed.append(f"{arguments['email']} {'on the wire' if transport.sending else 'alone'}")
        return compose(**arguments)  # type: ignore[arg-type]

    monkeypatch.setattr(composer, "compose_digest", recorded)
    return composed


def test_each_digest_after_the_first_of_a_batch_is_composed_while_the_one_before_is_on_the_wire(
    engine: Engine, smtp_sink: SmtpSink, composer: MailComposer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Issue 13: the wait for the server's answer to each final dot was idle time; the next message is
    # composed in it, once, and sent as composed.
    plan(engine, composer, 4)
    with Watched(smtp_sink.url, lambda sent: None) as transport:
        composed = composed_while_sending(monkeypatch, composer, transport)
        delivery = Delivery(engine, transport, composer, policy=QUIET, worker="worker-a", clock=Clock())
        assert delivery.drain()
        delivery.close()
    assert composed == [
        "reader0@example.org alone",
        "reader1@example.org on the wire",
        "reader2@example.org on the wire",
        "reader3@example.org on the wire",
    ]
    assert [m.recipients for m in smtp_sink.received] == [(f"reader{i}@example.org",) for i in range(4)]
    assert all(f"reader{i}@example.org".encode() in m.data for i, m in enumerate(smtp_sink.received))
    assert delivery.report.sent == 4


def test_a_digest_composed_ahead_is_not_sent_when_its_subscriber_leaves_before_its_turn(
    engine: Engine, smtp_sink: SmtpSink, composer: MailComposer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Composing ahead decides nothing: the held check in the digest's own turn still stops it.
    plan(engine, composer, 3)

    with Watched(smtp_sink.url, unsubscribe_after_first(engine, "reader1@example.org")) as transport:
        composed = composed_while_sending(monkeypatch, composer, transport)
        delivery = Delivery(engine, transport, composer, policy=QUIET, worker="worker-a", clock=Clock())
        assert delivery.drain()
        delivery.close()
    assert "reader1@example.org on the wire" in composed, "the scenario needs reader1's digest composed ahead"
    assert [m.recipients for m in smtp_sink.received] == [("reader0@example.org",), ("reader2@example.org",)]
    assert (delivery.report.sent, delivery.report.cancelled) == (2, 1)
    with engine.connect() as conn:
        states = [row.state for row in conn.execute(select(digest_outbox.c.state).order_by(digest_outbox.c.id))]
    assert states == ["sent", "cancelled", "sent"]


def test_each_envelope_goes_out_before_the_held_check_that_records_the_message_before_it(
    engine: Engine, smtp_sink: SmtpSink, composer: MailComposer
) -> None:
    # Issue 13: the server answers MAIL, RCPT and DATA while the worker's transaction runs; the message
    # itself still follows the check, and the previous message's record still precedes it.
    plan(engine, composer, 4)
    recorded_when_announced: list[int] = []
    with Watched(smtp_sink.url, lambda sent: None) as transport:
        transport.on_announce = lambda: recorded_when_announced.append(sent_count(engine))
        delivery = Delivery(engine, transport, composer, policy=QUIET, worker="worker-a", clock=Clock())
        assert delivery.drain()
        delivery.close()
    # Every envelope is announced; each next one goes out while the message before it is accepted but
    # not yet recorded (the first finds no connection open and is sent whole).
    assert transport.announced == [f"reader{i}@example.org" for i in range(4)]
    assert recorded_when_announced == [0, 0, 1, 2]
    assert [m.recipients for m in smtp_sink.received] == [(f"reader{i}@example.org",) for i in range(4)]
    assert len({m.session for m in smtp_sink.received}) == 1
    assert sent_count(engine) == 4


def test_an_envelope_announced_for_a_digest_its_check_stops_is_abandoned_with_its_connection(
    engine: Engine, smtp_sink: SmtpSink, composer: MailComposer
) -> None:
    plan(engine, composer, 3)

    with Watched(smtp_sink.url, unsubscribe_after_first(engine, "reader1@example.org")) as transport:
        delivery = Delivery(engine, transport, composer, policy=QUIET, worker="worker-a", clock=Clock())
        assert delivery.drain()
        delivery.close()
    assert "reader1@example.org" in transport.announced, "reader1's envelope went out before its check"
    assert [m.recipients for m in smtp_sink.received] == [("reader0@example.org",), ("reader2@example.org",)]
    # Its DATA was open: the connection was dropped without QUIT (the server discards the transaction)
    # and the next digest went out over a new one.
    assert len(smtp_sink.sessions_without_quit) == 1
    assert smtp_sink.received[0].session in smtp_sink.sessions_without_quit
    assert smtp_sink.received[1].session not in smtp_sink.sessions_without_quit
    assert (delivery.report.sent, delivery.report.cancelled) == (2, 1)
