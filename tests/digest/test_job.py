"""A digest run against a real SMTP server: due digests go out once, with new papers only, and failures are handled."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from collections.abc import Collection

from sqlalchemy import Engine, func, select

from papertide.digest.compose import MailComposer
from papertide.digest.job import DigestReport, run_digest
from papertide.digest.plan import run_planning
from papertide.digest.policy import DigestPolicy
from papertide.domain.subscribers import Topics
from papertide.mail.transport import SmtpTransport
from papertide.store.deliveries import count_deliveries
from papertide.store.engine import begin_write
from papertide.store.schema import digest_outbox, digest_selection_items, digest_selections
from papertide.store.subscribers import get_subscriber_by_email, unsubscribe_subscriber
from tests.digest.digest_data import NOW, add_subscriber, digest_items_query, make_paper, store_papers
from tests.digest.smtp_sink import SmtpSink
from tests.ports import free_port

DAY = dt.timedelta(days=1)


class FakeClock:
    """The real time of a run, moved forward by the run's own sleeps."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> dt.datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += dt.timedelta(seconds=seconds)


def run(
    engine: Engine,
    composer: MailComposer,
    url: str,
    *,
    now: dt.datetime = NOW,
    policy: DigestPolicy | None = None,
    clock: FakeClock | None = None,
) -> DigestReport:
    clock = clock or FakeClock(now)
    return run_digest(
        engine,
        lambda: SmtpTransport(url),
        composer,
        now=now,
        policy=policy or DigestPolicy(),
        clock=clock,
        sleep=clock.sleep,
    )


def recipients(sink: SmtpSink) -> Counter[str]:
    return Counter(address for message in sink.received for address in message.recipients)


def sent_papers(sink: SmtpSink, address: str) -> list[str]:
    found: list[str] = []
    for message in sink.received:
        if address in message.recipients:
            text = message.parsed().get_body(("plain",)).get_content()  # type: ignore[union-attr]
            found += [line.rsplit("/", 1)[1] for line in text.splitlines() if "/papers/" in line]
    return found


def test_each_due_subscriber_gets_one_digest_and_a_rerun_sends_nothing(
    engine: Engine, smtp_sink: SmtpSink, composer: MailComposer
) -> None:
    store_papers(engine, [make_paper(i, upvotes=i) for i in range(1, 13)])
    for i in range(5):
        add_subscriber(engine, f"reader{i}@example.org")
    first = run(engine, composer, smtp_sink.url)
    second = run(engine, composer, smtp_sink.url)
    assert first.delivery.sent == 5 and first.exit_code == 0
    assert second.plan.planned == 0 and second.delivery.sent == 0
    assert recipients(smtp_sink) == Counter({f"reader{i}@example.org": 1 for i in range(5)})
    assert sent_papers(smtp_sink, "reader0@example.org") == [f"2608.{i:05d}" for i in range(12, 2, -1)]
    with engine.connect() as conn:
        assert count_deliveries(conn) == {"sent": 5}
        # Five digests, one selection: its ten items are stored once, not once per reader.
        assert len(conn.execute(digest_items_query()).all()) == 50
        assert conn.execute(select(func.count()).select_from(digest_selections)).scalar_one() == 1
        assert conn.execute(select(func.count()).select_from(digest_selection_items)).scalar_one() == 10


def test_the_next_digest_holds_only_papers_new_since_the_previous_one(
    engine: Engine, smtp_sink: SmtpSink, composer: MailComposer
) -> None:
    store_papers(engine, [make_paper(i, upvotes=100 - i) for i in range(1, 16)])
    add_subscriber(engine, "jane@example.org", size=10)
    run(engine, composer, smtp_sink.url)
    first = sent_papers(smtp_sink, "jane@example.org")
    store_papers(engine, [make_paper(i, upvotes=500, listed_on=dt.date(2026, 8, 21)) for i in range(20, 23)])
    run(engine, composer, smtp_sink.url, now=NOW + DAY)
    second = sent_papers(smtp_sink, "jane@example.org")[len(first) :]
    assert len(first) == 10
    assert not set(first) & set(second)
    # Papers of 20 Aug that did not fit the first digest were listed before it: they do not come back late.
    assert set(second) == {"2608.00020", "2608.00021", "2608.00022"}


def test_papers_sent_yesterday_and_still_in_todays_window_are_not_sent_again(
    engine: Engine, smtp_sink: SmtpSink, composer: MailComposer
) -> None:
    # Listed on the day of the first digest: the next day's window (from that day) still holds them,
    # so only what planning reads of the earlier digest's selection keeps them out.
    store_papers(engine, [make_paper(i, upvotes=100 - i, listed_on=dt.date(2026, 8, 21)) for i in range(1, 7)])
    add_subscriber(engine, "jane@example.org", size=3)
    add_subscriber(engine, "joe@example.org", size=3)
    run(engine, composer, smtp_sink.url)
    first = sent_papers(smtp_sink, "jane@example.org")
    later = run(engine, composer, smtp_sink.url, now=NOW + DAY)
    second = sent_papers(smtp_sink, "jane@example.org")[len(first) :]
    assert first == ["2608.00001", "2608.00002", "2608.00003"]
    assert sorted(second) == ["2608.00004", "2608.00005", "2608.00006"]
    assert sent_papers(smtp_sink, "joe@example.org") == first + second
    assert later.delivery.sent == 2


def test_an_empty_digest_is_not_sent_and_a_later_run_sends_it_once_there_is_news(
    engine: Engine, smtp_sink: SmtpSink, composer: MailComposer
) -> None:
    add_subscriber(engine, "jane@example.org")
    report = run(engine, composer, smtp_sink.url)
    assert report.plan.empty == 1 and report.delivery.sent == 0
    assert smtp_sink.received == []
    store_papers(engine, [make_paper(1, upvotes=3)])
    later = run(engine, composer, smtp_sink.url, now=NOW + dt.timedelta(hours=1))
    assert later.delivery.sent == 1


def test_only_confirmed_subscribers_whose_hour_has_come_receive_anything(
    engine: Engine, smtp_sink: SmtpSink, composer: MailComposer
) -> None:
    store_papers(engine, [make_paper(i, upvotes=i) for i in range(1, 6)])
    add_subscriber(engine, "pending@example.org", status="pending")
    add_subscriber(engine, "gone@example.org", status="unsubscribed")
    add_subscriber(engine, "bouncing@example.org", status="bouncing")
    add_subscriber(engine, "paused@example.org", frequency="paused")
    add_subscriber(engine, "later@example.org", hour=14)
    add_subscriber(engine, "tokyo@example.org", hour=20, timezone="Asia/Tokyo")
    add_subscriber(engine, "yes@example.org", hour=11, timezone="Europe/Paris")
    run(engine, composer, smtp_sink.url)
    assert recipients(smtp_sink) == Counter({"tokyo@example.org": 1, "yes@example.org": 1})


def test_topics_reorder_the_digest_and_say_why(engine: Engine, smtp_sink: SmtpSink, composer: MailComposer) -> None:
    papers = [make_paper(i, upvotes=50 + i) for i in range(1, 8)]
    papers.append(make_paper(9, upvotes=0, categories=("math.DS",), title="Chaotic flows"))
    store_papers(engine, papers)
    add_subscriber(engine, "jane@example.org", size=5, topics=Topics(categories=("math.DS",), phrases=("chaos",)))
    matcher_calls: list[tuple[str, int, list[int]]] = []

    def matcher(text: str, hits: int, candidates: Collection[int]) -> list[int]:
        matcher_calls.append((text, hits, sorted(candidates)))
        return [8]  # the stored id of paper 9 (ids follow insertion order)

    clock = FakeClock(NOW)
    run_digest(
        engine, lambda: SmtpTransport(smtp_sink.url), composer, now=NOW, clock=clock, sleep=clock.sleep, matcher=matcher
    )
    text = smtp_sink.received[0].parsed().get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert text.index("Chaotic flows") < text.index("Paper number 7")
    assert "Why: matches your topic 'chaos'; in math.DS, which you follow" in text
    assert matcher_calls == [("chaos", 200, list(range(1, 9)))]


def test_a_subscriber_who_leaves_after_planning_gets_nothing(
    engine: Engine, smtp_sink: SmtpSink, composer: MailComposer
) -> None:
    store_papers(engine, [make_paper(1, upvotes=1)])
    subscriber = add_subscriber(engine, "jane@example.org")
    run_planning(engine, now=NOW, policy=DigestPolicy(), message_id=composer.site.make_message_id)
    with begin_write(engine) as conn:
        unsubscribe_subscriber(conn, subscriber.id, NOW)
    report = run(engine, composer, smtp_sink.url)
    assert report.delivery.cancelled == 1
    assert smtp_sink.received == []


def test_a_temporary_failure_is_retried_after_a_back_off_within_the_run(
    engine: Engine, smtp_sink: SmtpSink, composer: MailComposer
) -> None:
    store_papers(engine, [make_paper(1, upvotes=1)])
    add_subscriber(engine, "jane@example.org")
    smtp_sink.behaviour.data_replies.append("451 4.3.0 Try again later")
    clock = FakeClock(NOW)
    report = run(engine, composer, smtp_sink.url, clock=clock)
    assert report.delivery.retried == 1 and report.delivery.sent == 1
    assert clock.slept == [60.0]
    assert recipients(smtp_sink) == Counter({"jane@example.org": 1})
    with engine.connect() as conn:
        assert conn.execute(select(digest_outbox.c.attempts, digest_outbox.c.state)).one() == (2, "sent")


def test_temporary_failures_give_up_after_the_last_attempt(
    engine: Engine, smtp_sink: SmtpSink, composer: MailComposer
) -> None:
    store_papers(engine, [make_paper(1, upvotes=1)])
    add_subscriber(engine, "jane@example.org")
    smtp_sink.behaviour.data_replies.extend(["452 4.2.2 Mailbox full"] * 5)
    report = run(engine, composer, smtp_sink.url, policy=DigestPolicy(max_attempts=3, retry_wait=dt.timedelta(hours=1)))
    assert report.delivery.retried == 2 and report.delivery.failed == 1
    with engine.connect() as conn:
        state, error = conn.execute(select(digest_outbox.c.state, digest_outbox.c.error)).one()
    assert state == "failed" and "gave up after 3 attempts" in error
    assert smtp_sink.received == []


def test_refused_addresses_count_bounces_and_stop_receiving_at_the_limit(
    engine: Engine, smtp_sink: SmtpSink, composer: MailComposer
) -> None:
    store_papers(engine, [make_paper(i, upvotes=1, listed_on=dt.date(2026, 8, 19) + i * DAY) for i in range(5)])
    add_subscriber(engine, "gone@example.org")
    add_subscriber(engine, "fine@example.org")
    smtp_sink.behaviour.refuse_recipients["gone@example.org"] = "550 5.1.1 No such user"
    policy = DigestPolicy(bounce_limit=2)
    first = run(engine, composer, smtp_sink.url, policy=policy)
    second = run(engine, composer, smtp_sink.url, now=NOW + DAY, policy=policy)
    third = run(engine, composer, smtp_sink.url, now=NOW + 2 * DAY, policy=policy)
    assert (first.delivery.failed, first.delivery.bounced) == (1, 0)
    assert (second.delivery.failed, second.delivery.bounced) == (1, 1)
    assert third.plan.due == 1
    with engine.connect() as conn:
        gone = get_subscriber_by_email(conn, "gone@example.org")
    assert gone is not None and gone.status == "bouncing" and gone.bounce_count == 2
    assert recipients(smtp_sink) == Counter({"fine@example.org": 3})


def test_a_server_that_is_down_stops_the_run_and_nothing_is_lost(
    engine: Engine, smtp_sink: SmtpSink, composer: MailComposer
) -> None:
    store_papers(engine, [make_paper(1, upvotes=1)])
    for i in range(15):
        add_subscriber(engine, f"reader{i}@example.org")
    down = run(engine, composer, f"smtp://127.0.0.1:{free_port()}", policy=DigestPolicy(max_consecutive_failures=3))
    assert down.exit_code == 1 and "3 temporary failures in a row" in (down.failure or "")
    assert down.delivery.retried == 3
    with engine.connect() as conn:
        assert count_deliveries(conn) == {"queued": 15}
    later = run(engine, composer, smtp_sink.url, now=NOW + dt.timedelta(minutes=30))
    assert later.delivery.sent == 15
    assert recipients(smtp_sink) == Counter({f"reader{i}@example.org": 1 for i in range(15)})


def test_two_runs_at_once_send_each_digest_exactly_once(
    database_url: str, smtp_sink: SmtpSink, composer: MailComposer
) -> None:
    from papertide.store.engine import make_engine

    setup = make_engine(database_url)
    store_papers(setup, [make_paper(i, upvotes=i) for i in range(1, 12)])
    for i in range(120):
        add_subscriber(setup, f"reader{i:03d}@example.org", size=5)
    # A slow server keeps delivery going long enough (over a second) for both runs to take part.
    smtp_sink.behaviour.data_delay_s = 0.01
    reports: list[DigestReport] = []
    start = threading.Barrier(2)

    def worker() -> None:
        engine = make_engine(database_url)
        start.wait()
        reports.append(run(engine, composer, smtp_sink.url, policy=DigestPolicy(plan_batch=10, claim_batch=5)))
        engine.dispose()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert recipients(smtp_sink) == Counter({f"reader{i:03d}@example.org": 1 for i in range(120)})
    assert sum(report.delivery.sent for report in reports) == 120
    assert sum(report.plan.planned for report in reports) == 120
    with setup.connect() as conn:
        workers = conn.execute(select(func.count(func.distinct(digest_outbox.c.claimed_by)))).scalar_one()
    assert workers == 2, "both runs should have delivered part of the outbox"
    setup.dispose()


def test_helper_processes_share_the_outbox_and_send_each_digest_once(
    database_url: str, smtp_sink: SmtpSink, composer: MailComposer
) -> None:
    from functools import partial

    from papertide.store.engine import make_engine

    engine = make_engine(database_url)
    store_papers(engine, [make_paper(i, upvotes=i) for i in range(1, 8)])
    for i in range(150):
        add_subscriber(engine, f"reader{i:03d}@example.org", size=5)
    # A slow server keeps the run going for seconds, long enough for the helpers to start and take part.
    smtp_sink.behaviour.data_delay_s = 0.03
    progress: Counter[str] = Counter()
    report = run_digest(
        engine,
        partial(SmtpTransport, smtp_sink.url),
        composer,
        now=NOW,
        policy=DigestPolicy(workers=3, claim_batch=5),
        progress=lambda phase, count: progress.update({phase: count}),
    )
    assert report.delivery.sent == 150 and report.failure is None
    assert progress == {"plan": 150, "send": 150}, "the progress shown counts the helpers' digests too"
    assert recipients(smtp_sink) == Counter({f"reader{i:03d}@example.org": 1 for i in range(150)})
    with engine.connect() as conn:
        workers = conn.execute(select(func.count(func.distinct(digest_outbox.c.claimed_by)))).scalar_one()
    assert workers >= 2, "the helpers should have delivered part of the outbox"
    engine.dispose()


def test_a_run_freezes_the_long_lived_heap_while_it_runs_and_unfreezes_it_at_the_end(
    engine: Engine, smtp_sink: SmtpSink, composer: MailComposer
) -> None:
    import gc

    store_papers(engine, [make_paper(i, upvotes=i) for i in range(1, 8)])
    for i in range(3):
        add_subscriber(engine, f"reader{i}@example.org")
    frozen: list[int] = []
    report = run_digest(
        engine,
        lambda: SmtpTransport(smtp_sink.url),
        composer,
        now=NOW,
        policy=DigestPolicy(),
        clock=FakeClock(NOW),
        progress=lambda phase, count: frozen.append(gc.get_freeze_count()),
    )
    assert report.delivery.sent == 3
    assert frozen and min(frozen) > 0, "planning and delivery ran with the heap frozen (digest/heap.py)"
    assert gc.get_freeze_count() == 0, "nothing stays frozen after the run"


def test_what_a_delivery_batch_adds_to_the_caches_is_frozen_after_that_batch(
    engine: Engine, smtp_sink: SmtpSink, composer: MailComposer
) -> None:
    import gc

    store_papers(engine, [make_paper(i, upvotes=i) for i in range(1, 4)])
    for i in range(3):
        add_subscriber(engine, f"reader{i}@example.org")
    # At each message recorded as sent: whether each card the composer has made so far is frozen.
    seen: list[list[bool]] = []

    def check(phase: str, count: int) -> None:
        if phase != "send":
            return
        tracked = {id(obj) for obj in gc.get_objects()}  # frozen objects are in no generation
        seen.append([id(card) not in tracked for card in composer._fragments.values()])

    report = run_digest(
        engine,
        lambda: SmtpTransport(smtp_sink.url),
        composer,
        now=NOW,
        policy=DigestPolicy(claim_batch=1),
        clock=FakeClock(NOW),
        progress=check,
    )
    assert report.delivery.sent == 3
    first, *later = seen
    assert first and not any(first), "the first batch's cards were made after planning's freeze: not frozen yet"
    assert later and all(all(frozen) for frozen in later), "after its batch, a card is out of the collector's passes"
    assert gc.get_freeze_count() == 0, "nothing stays frozen after the run"


def test_a_reply_lost_after_the_final_dot_is_sent_again_with_the_same_message_id(
    engine: Engine, smtp_sink: SmtpSink, composer: MailComposer
) -> None:
    store_papers(engine, [make_paper(1, upvotes=1)])
    add_subscriber(engine, "jane@example.org")
    # The server takes the message, then the connection dies before its 250 reaches us.
    smtp_sink.behaviour.drop_after_data = 1
    clock = FakeClock(NOW)
    report = run(engine, composer, smtp_sink.url, clock=clock)
    assert report.delivery.retried == 1 and report.delivery.sent == 1
    assert recipients(smtp_sink) == Counter({"jane@example.org": 2})
    first, second = (message.parsed()["Message-ID"] for message in smtp_sink.received)
    assert first == second
    with engine.connect() as conn:
        assert conn.execute(select(digest_outbox.c.attempts, digest_outbox.c.state)).one() == (2, "sent")
