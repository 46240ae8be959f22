"""Digest topics are matched by the real search service among the run's candidate papers."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

import papertide.digest.plan as plan
from papertide.digest.compose import MailComposer
from papertide.digest.job import run_digest
from papertide.digest.plan import make_topic_matcher, run_planning
from papertide.digest.policy import DigestPolicy
from papertide.digest.schedule import Slot
from papertide.domain.subscribers import Subscriber, Topics
from papertide.mail.transport import SmtpTransport
from papertide.search.lexical.index import LexicalIndex
from papertide.search.query import SearchService
from papertide.store.schema import digest_selection_items
from tests.digest.digest_data import NOW, add_subscriber, make_paper, store_papers
from tests.digest.smtp_sink import SmtpSink
from tests.digest.test_job import FakeClock


def test_a_paper_published_long_before_its_listing_day_matches_its_subscribers_topic_and_lands_in_the_digest(
    engine: Engine, smtp_sink: SmtpSink, composer: MailComposer, tmp_path: Path
) -> None:
    popular = [make_paper(i, upvotes=100 + i, title=f"Popular paper {i}") for i in range(1, 6)]
    # Published in February, listed (trending) yesterday: the candidates are chosen by listing day.
    old = dataclasses.replace(
        make_paper(9, title="Chaotic flows in neural operators", abstract="Chaotic flows are learned."),
        published=dt.date(2026, 2, 1),
    )
    # A paper on the topic listed long ago is no candidate, so it must not be matched either.
    stale = make_paper(10, title="Chaotic flows revisited", listed_on=dt.date(2026, 3, 2), upvotes=500)
    store_papers(engine, [*popular, old, stale])
    add_subscriber(engine, "jane@example.org", size=3, topics=Topics(phrases=("chaotic flows",)))
    index = LexicalIndex(engine, tmp_path / "lexical")
    index.open()
    matcher = make_topic_matcher(SearchService(engine, index).search_ids)
    clock = FakeClock(NOW)
    run_digest(
        engine, lambda: SmtpTransport(smtp_sink.url), composer, now=NOW, clock=clock, sleep=clock.sleep, matcher=matcher
    )
    text = smtp_sink.received[0].parsed().get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Chaotic flows in neural operators" in text
    assert "Why: matches your topic 'chaotic flows'" in text
    assert "Chaotic flows revisited" not in text


class CountingMatcher:
    """A batch-capable matcher that records how it was asked; "broken" makes the batch call fail."""

    def __init__(self, broken: bool = False) -> None:
        self.broken = broken
        self.batches: list[list[str]] = []
        self.single: list[str] = []

    def __call__(self, topic: str, hits: int, candidates: Collection[int]) -> Sequence[int]:
        self.single.append(topic)
        return sorted(candidates)[:1]

    def match_many(self, topics: Sequence[str], hits: int, candidates: Collection[int]) -> Mapping[str, Sequence[int]]:
        self.batches.append(list(topics))
        if self.broken:
            raise RuntimeError("the batch search failed")
        return {topic: sorted(candidates)[:1] for topic in topics}


@pytest.mark.parametrize("broken", [False, True], ids=["batch", "batch-fails"])
def test_planning_asks_for_each_new_topic_of_a_batch_in_one_call_and_falls_back_to_one_by_one(
    engine: Engine, composer: MailComposer, broken: bool
) -> None:
    store_papers(engine, [make_paper(i, upvotes=i) for i in range(1, 6)])
    add_subscriber(engine, "a@example.org", topics=Topics(phrases=("neural ODEs", "graphs")))
    add_subscriber(engine, "b@example.org", topics=Topics(phrases=("Neural  ODEs", "chaos")))
    add_subscriber(engine, "c@example.org", topics=Topics(phrases=("graphs",)))
    matcher = CountingMatcher(broken)
    report = run_planning(
        engine, now=NOW, policy=DigestPolicy(), message_id=composer.site.make_message_id, matcher=matcher
    )
    assert report.planned == 3
    assert matcher.batches == [["neural ODEs", "graphs", "chaos"]], "one call for the batch, each topic once"
    assert matcher.single == (["neural ODEs", "graphs", "chaos"] if broken else [])
    with engine.connect() as conn:
        reasons = set(conn.execute(select(digest_selection_items.c.reason)).scalars())
    assert any("matches your topic 'neural ODEs'" in reason for reason in reasons)
    assert any("matches your topic 'chaos'" in reason for reason in reasons)


def test_a_later_batch_with_few_new_topics_matches_those_of_the_next_due_subscribers_in_the_same_call(
    engine: Engine, composer: MailComposer
) -> None:
    store_papers(engine, [make_paper(i, upvotes=i) for i in range(1, 6)])
    follows = [("t1",), ("t2",), ("t3",), ("t3",), ("t4",), ("t5",), ("t6",), ("t7",)]
    for number, phrases in enumerate(follows):
        # The seventh subscriber's digest is paused: their topic is never needed, so never matched.
        frequency = "paused" if phrases == ("t6",) else "daily"
        add_subscriber(engine, f"s{number}@example.org", topics=Topics(phrases=phrases), frequency=frequency)
    matcher = CountingMatcher()
    report = run_planning(
        engine,
        now=NOW,
        policy=DigestPolicy(plan_batch=2),
        message_id=composer.site.make_message_id,
        matcher=matcher,
        match_ahead=3,
    )
    # The first batch matches only its own topics (its digests go out first); the second brings one
    # new topic and takes the next batch's two; the third has nothing new; the last finds none ahead.
    assert matcher.batches == [["t1", "t2"], ["t3", "t4", "t5"], ["t7"]]
    assert (report.subscribers, report.due, report.planned) == (8, 7, 7), "each subscriber read and planned once"
    with engine.connect() as conn:
        reasons = set(conn.execute(select(digest_selection_items.c.reason)).scalars())
    assert {f"matches your topic 't{n}'" for n in (1, 2, 3, 4, 5, 7)} <= reasons


def test_looking_ahead_for_topics_decides_each_subscribers_due_slot_once_per_run(
    engine: Engine, composer: MailComposer, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_papers(engine, [make_paper(i, upvotes=i) for i in range(1, 6)])
    for number in range(12):
        add_subscriber(engine, f"s{number}@example.org", topics=Topics(phrases=(f"t{number % 5}",)))
    asked: list[int] = []
    original = plan.select_due_slot

    def counted(subscriber: Subscriber, now: dt.datetime, **kwargs: Any) -> Slot | None:
        asked.append(subscriber.id)
        return original(subscriber, now, **kwargs)

    monkeypatch.setattr(plan, "select_due_slot", counted)
    report = run_planning(
        engine,
        now=NOW,
        policy=DigestPolicy(plan_batch=2),
        message_id=composer.site.make_message_id,
        matcher=CountingMatcher(),
        match_ahead=50,
    )
    assert report.planned == 12
    assert sorted(asked) == sorted(set(asked)) and len(asked) == 12, "once each, though later batches were looked at"
