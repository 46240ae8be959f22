"""What a delivery worker reads per claimed batch (issue 13): few statements, and only what it sends with.

The claim returns each row's selection, so loading a batch is one read of its recipients
(address and bounce count, not whole subscribers) plus, for selections not seen yet, their
papers. Statements are counted as the driver receives them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, event, select

from papertide.digest.compose import MailComposer
from papertide.digest.deliver import Delivery
from papertide.digest.plan import run_planning
from papertide.digest.policy import DigestPolicy
from papertide.mail.transport import SmtpTransport
from papertide.store.deliveries import claim_batch
from papertide.store.engine import begin_write
from papertide.store.schema import digest_outbox, subscribers
from papertide.store.subscribers import Recipient, get_recipients
from tests.digest.digest_data import NOW, add_subscriber, make_paper, store_papers
from tests.digest.smtp_sink import SmtpSink


@contextmanager
def counted(engine: Engine) -> Iterator[list[str]]:
    """The SQL of every statement run on ``engine`` inside the block, but the transaction's own BEGIN."""
    statements: list[str] = []

    def record(conn: object, cursor: object, sql: str, *args: object) -> None:
        if not sql.startswith("BEGIN"):  # store/engine.py begins SQLite transactions itself
            statements.append(sql)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def planned(engine: Engine, composer: MailComposer, count: int) -> None:
    store_papers(engine, [make_paper(i, upvotes=i) for i in range(1, 6)])
    for i in range(count):
        add_subscriber(engine, f"reader{i}@example.org")
    run_planning(engine, now=NOW, policy=DigestPolicy(), message_id=composer.site.make_message_id)


def test_a_claim_returns_each_rows_selection(engine: Engine, composer: MailComposer) -> None:
    planned(engine, composer, 3)
    with begin_write(engine) as conn:
        claimed = claim_batch(conn, "worker-a", NOW, 10)
    with engine.connect() as conn:
        rows = conn.execute(select(digest_outbox.c.id, digest_outbox.c.selection_id))
        stored = {int(row.id): int(row.selection_id) for row in rows}
    assert len(claimed) == 3
    assert {digest.id: digest.selection_id for digest in claimed} == stored


def test_a_batch_is_loaded_in_one_read_once_its_selections_are_known(
    engine: Engine, composer: MailComposer, smtp_sink: SmtpSink
) -> None:
    planned(engine, composer, 6)
    transport = SmtpTransport(smtp_sink.url)
    delivery = Delivery(engine, transport, composer, policy=DigestPolicy(), worker="worker-a", clock=lambda: NOW)
    try:
        with begin_write(engine) as conn:
            first = claim_batch(conn, "worker-a", NOW, 3)
            second = claim_batch(conn, "worker-a", NOW, 3)
        with counted(engine) as statements:
            recipients = delivery._load(first)
        # Recipients, the new selections' items, the papers they name.
        assert len(statements) == 3, statements
        assert set(recipients) == {digest.subscriber_id for digest in first}
        assert all(delivery.selections[digest.selection_id] for digest in first)
        with counted(engine) as statements:
            delivery._load(second)
        # The same papers for everyone: one selection, already known; only the recipients are read.
        assert len(statements) == 1, statements
    finally:
        delivery.close()
        transport.close()


def test_recipients_are_read_with_their_address_and_bounce_count_and_erased_ones_are_left_out(
    engine: Engine,
) -> None:
    kept = add_subscriber(engine, "kept@example.org").id
    gone = add_subscriber(engine, "gone@example.org").id
    with begin_write(engine) as conn:
        conn.execute(subscribers.update().where(subscribers.c.id == kept).values(bounce_count=2))
        conn.execute(subscribers.delete().where(subscribers.c.id == gone))
    with engine.connect() as conn:
        found = get_recipients(conn, [kept, gone])
    assert found == {kept: Recipient(kept, "kept@example.org", 2)}
