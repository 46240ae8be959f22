"""Each distinct selection of a run is stored once, read once per worker, and goes with its last reader (issue 13)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from collections.abc import Collection, Sequence
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text

import papertide.digest.deliver as deliver
import papertide.digest.plan as plan
from papertide.digest.compose import MailComposer
from papertide.digest.job import run_digest
from papertide.digest.plan import SearchTopicMatcher, make_topic_matcher, run_planning
from papertide.digest.policy import DigestPolicy
from papertide.domain.subscribers import Topics
from papertide.mail.transport import SmtpTransport
from papertide.search.lexical.index import LexicalIndex
from papertide.search.query import SearchService
from papertide.search.semantic.searcher import open_semantic
from papertide.search.topics import TopicSearch
from papertide.store.deliveries import PlannedDigest, PlannedSelection, write_planned
from papertide.store.engine import begin_write
from papertide.store.schema import digest_outbox, digest_selection_items, digest_selections, topic_vectors
from papertide.store.selections import PlannedItem
from papertide.store.subscribers import (
    delete_expired_pending,
    delete_subscriber,
    get_subscriber_by_email,
    write_preferences,
)
from papertide.store.topic_vectors import topic_vector_key
from tests.digest.digest_data import NOW, add_subscriber, digest_items_query, make_paper, record_digest, store_papers
from tests.digest.smtp_sink import SmtpSink
from tests.search.hashing_embedder import HashingEmbedder

SECRET_TOPIC = "xyzzy quantum foam"


def first_two(topic: str, hits: int, candidates: Collection[int]) -> Sequence[int]:
    """A topic matcher: every topic matches the two lowest paper ids."""
    return sorted(candidates)[:2]


def count(engine: Engine, table: object) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def unused_selections(engine: Engine) -> int:
    unused = select(digest_selections.c.id).where(
        ~select(digest_outbox.c.id).where(digest_outbox.c.selection_id == digest_selections.c.id).exists()
    )
    with engine.connect() as conn:
        return len(conn.execute(unused).all())


def test_a_selection_shared_by_readers_in_several_batches_is_stored_once(
    engine: Engine, composer: MailComposer
) -> None:
    store_papers(engine, [make_paper(i, upvotes=i) for i in range(1, 9)])
    for number in range(7):
        add_subscriber(engine, f"reader{number}@example.org", size=5)
    report = run_planning(engine, now=NOW, policy=DigestPolicy(plan_batch=2), message_id=composer.site.make_message_id)
    assert report.planned == 7
    assert count(engine, digest_selections) == 1
    assert count(engine, digest_selection_items) == 5
    with engine.connect() as conn:
        assert len(conn.execute(select(digest_outbox.c.selection_id).distinct()).all()) == 1
        assert len(conn.execute(digest_items_query()).all()) == 35


def test_erasing_a_subscriber_deletes_the_selections_no_one_else_got_and_keeps_the_shared_ones(
    engine: Engine, composer: MailComposer
) -> None:
    store_papers(engine, [make_paper(i, upvotes=i) for i in range(1, 9)])
    secret = add_subscriber(engine, "secret@example.org", size=3, topics=Topics(phrases=(SECRET_TOPIC,)))
    add_subscriber(engine, "plain1@example.org", size=3)
    add_subscriber(engine, "plain2@example.org", size=3)
    run_planning(engine, now=NOW, policy=DigestPolicy(), message_id=composer.site.make_message_id, matcher=first_two)
    with engine.connect() as conn:
        reasons = conn.execute(select(digest_selection_items.c.reason)).scalars().all()
    assert any(SECRET_TOPIC in reason for reason in reasons)
    assert count(engine, digest_selections) == 2

    with begin_write(engine) as conn:
        assert delete_subscriber(conn, secret.id)
    with engine.connect() as conn:
        reasons = conn.execute(select(digest_selection_items.c.reason)).scalars().all()
    assert reasons and not any(SECRET_TOPIC in reason for reason in reasons)
    assert count(engine, digest_selections) == 1, "the plain readers' selection stays"

    with begin_write(engine) as conn:
        plain1 = get_subscriber_by_email(conn, "plain1@example.org")
        assert plain1 is not None and delete_subscriber(conn, plain1.id)
    assert count(engine, digest_selections) == 1, "one reader is left"
    with begin_write(engine) as conn:
        plain2 = get_subscriber_by_email(conn, "plain2@example.org")
        assert plain2 is not None and delete_subscriber(conn, plain2.id)
    assert count(engine, digest_selections) == 0
    assert count(engine, digest_selection_items) == 0


def test_expired_sign_ups_take_any_selection_they_hold_with_them(engine: Engine) -> None:
    store_papers(engine, [make_paper(1)])
    pending = add_subscriber(engine, "pending@example.org", status="pending", since=NOW - dt.timedelta(days=30))
    with begin_write(engine) as conn:
        paper_id = conn.execute(text("SELECT id FROM papers")).scalar_one()
        record_digest(conn, pending.id, [paper_id], reason=f"matches your topic '{SECRET_TOPIC}'")
    with begin_write(engine) as conn:
        assert delete_expired_pending(conn, NOW - dt.timedelta(days=7)) == 1
    assert count(engine, digest_selections) == 0


def vector_matcher(engine: Engine, folder: Path) -> SearchTopicMatcher:
    """Planning's matcher over a real search service whose semantic half stores topic vectors."""
    index = LexicalIndex(engine, folder / "lexical")
    index.open()
    embedder = HashingEmbedder()
    searcher = open_semantic(engine, folder / "vectors", model=embedder.name, backend="test", embedder=embedder)
    searcher.sync()
    service = SearchService(engine, index, lambda: searcher)
    return make_topic_matcher(service.search_ids, TopicSearch(service))


def stored_topic_vectors(engine: Engine) -> dict[str, bytes]:
    with engine.connect() as conn:
        return {
            key: bytes(vector) for key, vector in conn.execute(select(topic_vectors.c.topic, topic_vectors.c.vector))
        }


def test_an_erased_subscribers_topics_are_gone_from_the_sqlite_file(
    sqlite_engine: Engine, composer: MailComposer, data_dir: Path, tmp_path: Path
) -> None:
    store_papers(sqlite_engine, [make_paper(i, upvotes=i) for i in range(1, 9)])
    secret = add_subscriber(sqlite_engine, "secret@example.org", size=3, topics=Topics(phrases=(SECRET_TOPIC,)))
    add_subscriber(sqlite_engine, "plain@example.org", size=3, topics=Topics(phrases=("ocean waves",)))
    run_planning(
        sqlite_engine,
        now=NOW,
        policy=DigestPolicy(),
        message_id=composer.site.make_message_id,
        matcher=vector_matcher(sqlite_engine, tmp_path),
    )
    files = [data_dir / "papertide.db", data_dir / "papertide.db-wal"]

    def stored() -> bytes:
        with sqlite_engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        return b"".join(path.read_bytes() for path in files if path.exists())

    vectors = stored_topic_vectors(sqlite_engine)
    secret_key, plain_key = topic_vector_key(SECRET_TOPIC), topic_vector_key("ocean waves")
    assert set(vectors) == {secret_key, plain_key}, "planning stored both topics' vectors"
    before = stored()
    assert SECRET_TOPIC.encode() in before
    assert secret_key.encode() in before and vectors[secret_key] in before
    with begin_write(sqlite_engine) as conn:
        assert delete_subscriber(conn, secret.id)
    left = stored()
    assert SECRET_TOPIC.encode() not in left
    assert b"secret@example.org" not in left
    assert secret_key.encode() not in left and vectors[secret_key] not in left, "nor their topic's vector"
    assert b"plain@example.org" in left
    assert plain_key.encode() in left and vectors[plain_key] in left


def test_erasing_or_changing_topics_deletes_the_topic_vectors_no_one_else_follows(
    engine: Engine, composer: MailComposer, tmp_path: Path
) -> None:
    store_papers(engine, [make_paper(i, upvotes=i) for i in range(1, 9)])
    first = add_subscriber(engine, "a@example.org", topics=Topics(phrases=("chaotic flows", "ocean waves")))
    # The same words spelt as query syntax: one stored vector serves both.
    second = add_subscriber(engine, "b@example.org", topics=Topics(phrases=('"Chaotic" flows', "chaotic: flows")))
    third = add_subscriber(engine, "c@example.org", topics=Topics(phrases=("tidal energy",)))
    add_subscriber(
        engine,
        "p@example.org",
        status="pending",
        topics=Topics(phrases=("ocean waves",)),
        since=NOW - dt.timedelta(days=30),
    )
    run_planning(
        engine,
        now=NOW,
        policy=DigestPolicy(),
        message_id=composer.site.make_message_id,
        matcher=vector_matcher(engine, tmp_path),
    )
    keys = {
        words: topic_vector_key(words) for words in ("chaotic flows", "Chaotic flows", "ocean waves", "tidal energy")
    }
    assert set(stored_topic_vectors(engine)) == set(keys.values())

    with begin_write(engine) as conn:
        assert delete_subscriber(conn, first.id)
    assert set(stored_topic_vectors(engine)) == set(keys.values()), "each topic is still followed by someone"
    with begin_write(engine) as conn:
        assert delete_expired_pending(conn, NOW - dt.timedelta(days=7)) == 1
    assert keys["ocean waves"] not in stored_topic_vectors(engine)

    changed = dataclasses.replace(third.preferences, topics=Topics(phrases=("tidal power",)))
    with begin_write(engine) as conn:
        write_preferences(conn, third.id, changed)
    assert set(stored_topic_vectors(engine)) == {keys["chaotic flows"], keys["Chaotic flows"]}
    with begin_write(engine) as conn:
        assert delete_subscriber(conn, second.id)
    assert stored_topic_vectors(engine) == {}


def test_a_selection_whose_readers_were_erased_between_two_batches_is_stored_again(
    engine: Engine, composer: MailComposer
) -> None:
    store_papers(engine, [make_paper(i, upvotes=i) for i in range(1, 9)])
    first = add_subscriber(engine, "first@example.org", size=3)
    add_subscriber(engine, "second@example.org", size=3)
    batches: list[int] = []

    def erase_first(done: int) -> None:
        batches.append(done)
        if len(batches) == 1:
            with begin_write(engine) as conn:
                assert delete_subscriber(conn, first.id)

    report = run_planning(
        engine,
        now=NOW,
        policy=DigestPolicy(plan_batch=1),
        message_id=composer.site.make_message_id,
        advance=erase_first,
    )
    assert report.planned == 2
    with engine.connect() as conn:
        rows = conn.execute(digest_items_query()).all()
    assert len(rows) == 3 and count(engine, digest_selections) == 1


def test_a_digest_another_run_planned_first_leaves_no_selection_behind(engine: Engine) -> None:
    store_papers(engine, [make_paper(1)])
    reader = add_subscriber(engine, "reader@example.org")
    with begin_write(engine) as conn:
        paper_id = int(conn.execute(text("SELECT id FROM papers")).scalar_one())
        record_digest(conn, reader.id, [paper_id], period_key="day:2026-08-21")
    planned = PlannedDigest(
        subscriber_id=reader.id,
        period_key="day:2026-08-21",
        message_id="<other@example.org>",
        due_at=NOW,
        selection=PlannedSelection((PlannedItem(paper_id, 0, "trending"),)),
    )
    with begin_write(engine) as conn:
        written = write_planned(conn, [planned], NOW)
    assert written.created == [] and written.stored == []
    assert count(engine, digest_selections) == 1 and unused_selections(engine) == 0


def test_a_run_stopped_in_the_middle_of_planning_leaves_no_unused_selection_and_the_rerun_repeats_no_paper(
    engine: Engine, composer: MailComposer, smtp_sink: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_papers(engine, [make_paper(i, upvotes=i) for i in range(1, 13)])
    readers = [add_subscriber(engine, f"reader{n}@example.org", size=4) for n in range(5)]
    with begin_write(engine) as conn:
        top = [int(i) for i in conn.execute(text("SELECT id FROM papers ORDER BY external_upvotes DESC")).scalars()]
        # Reader 4 got the top two yesterday: its digest must differ from the others'.
        record_digest(conn, readers[4].id, top[:2], period_key="day:2026-08-20")
    original = plan.write_last_digest
    calls: list[int] = []

    def stop_in_third_batch(conn: object, rows: object) -> None:
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt  # as a kill: the batch's transaction never commits
        original(conn, rows)  # type: ignore[arg-type]

    monkeypatch.setattr(plan, "write_last_digest", stop_in_third_batch)
    policy = DigestPolicy(plan_batch=2)
    with pytest.raises(KeyboardInterrupt):
        run_planning(engine, now=NOW, policy=policy, message_id=composer.site.make_message_id)
    assert count(engine, digest_outbox) == 1 + 4
    assert unused_selections(engine) == 0
    monkeypatch.setattr(plan, "write_last_digest", original)

    report = run_digest(
        engine, lambda: SmtpTransport(smtp_sink.url), composer, now=NOW, policy=policy, clock=lambda: NOW
    )
    assert report.plan.planned == 1 and report.delivery.sent == 5
    assert unused_selections(engine) == 0
    with engine.connect() as conn:
        rows = conn.execute(digest_items_query()).all()
    per_reader = Counter((subscriber_id, paper_id) for _, subscriber_id, paper_id, _, _ in rows)
    assert max(per_reader.values()) == 1, "no paper twice to one reader"
    assert {paper_id for _, subscriber_id, paper_id, _, _ in rows if subscriber_id == readers[4].id} == set(top[:6])


def test_a_worker_reads_and_builds_each_selection_once_whatever_the_number_of_its_messages(
    engine: Engine, composer: MailComposer, smtp_sink: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_papers(engine, [make_paper(i, upvotes=i) for i in range(1, 9)])
    for number in range(6):
        add_subscriber(engine, f"reader{number}@example.org", size=3)
    add_subscriber(engine, "other@example.org", size=4)
    read: list[list[int]] = []
    original = deliver.list_selection_items

    def counted(conn: object, selection_ids: Sequence[int]) -> object:
        read.append(list(selection_ids))
        return original(conn, selection_ids)  # type: ignore[arg-type]

    monkeypatch.setattr(deliver, "list_selection_items", counted)
    report = run_digest(
        engine,
        lambda: SmtpTransport(smtp_sink.url),
        composer,
        now=NOW,
        policy=DigestPolicy(claim_batch=2),
        clock=lambda: NOW,
    )
    assert report.delivery.sent == 7
    read_ids = [selection_id for ids in read for selection_id in ids]
    assert len(read_ids) == len(set(read_ids)) == 2, "each selection read by the worker once"
    assert len(smtp_sink.received) == 7


def test_a_worker_keeps_a_bounded_number_of_selections_and_reads_again_one_it_let_go(
    engine: Engine, composer: MailComposer, smtp_sink: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_papers(engine, [make_paper(i, upvotes=i) for i in range(1, 9)])
    for number in range(4):  # alternating sizes: each batch of one needs the selection the last one let go
        add_subscriber(engine, f"reader{number}@example.org", size=3 + number % 2)
    read: list[int] = []
    original = deliver.list_selection_items

    def counted(conn: object, selection_ids: Sequence[int]) -> object:
        read.extend(selection_ids)
        return original(conn, selection_ids)  # type: ignore[arg-type]

    monkeypatch.setattr(deliver, "list_selection_items", counted)
    monkeypatch.setattr(deliver, "SELECTION_CACHE", 1)
    report = run_digest(
        engine,
        lambda: SmtpTransport(smtp_sink.url),
        composer,
        now=NOW,
        policy=DigestPolicy(claim_batch=1),
        clock=lambda: NOW,
    )
    assert report.delivery.sent == 4
    assert len(read) == 4 and len(set(read)) == 2
    sizes = Counter(
        len([line for line in message.parsed().get_body(("plain",)).get_content().splitlines() if "/papers/" in line])  # type: ignore[union-attr]
        for message in smtp_sink.received
    )
    assert sizes == Counter({3: 2, 4: 2})
