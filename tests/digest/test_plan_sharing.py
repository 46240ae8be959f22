"""Planning computes each distinct selection once (issue 13), and subscribers who share one get the same items."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import Engine, select

import papertide.digest.plan as plan
from papertide.digest.compose import MailComposer
from papertide.digest.plan import run_planning
from papertide.digest.policy import DigestPolicy
from papertide.domain.subscribers import Topics
from papertide.store.schema import digest_outbox, papers, subscribers
from tests.digest.digest_data import NOW, add_subscriber, digest_items_query, make_paper, record_digest, store_papers


def items_by_address(engine: Engine) -> dict[str, list[tuple[int, str]]]:
    items = digest_items_query().subquery()
    query = (
        select(subscribers.c.email, items.c.paper_id, items.c.reason)
        .select_from(items.join(digest_outbox, digest_outbox.c.id == items.c.id))
        .join(subscribers, subscribers.c.id == items.c.subscriber_id)
        .where(digest_outbox.c.state == "queued")
        .order_by(subscribers.c.email, items.c.position)
    )
    found: dict[str, list[tuple[int, str]]] = {}
    with engine.connect() as conn:
        for email, paper_id, reason in conn.execute(query):
            found.setdefault(email, []).append((paper_id, reason))
    return found


def test_each_distinct_preference_set_is_selected_once_however_many_follow_it(
    engine: Engine, composer: MailComposer, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_papers(
        engine,
        [make_paper(i, upvotes=i, categories=("math.CO",) if i % 2 else ("cs.LG",)) for i in range(1, 13)],
    )
    calls: list[Topics] = []
    original = plan.select_items

    def counted(pool: Any, **arguments: Any) -> Any:
        calls.append(arguments["topics"])
        return original(pool, **arguments)

    monkeypatch.setattr(plan, "select_items", counted)
    for number in range(6):
        add_subscriber(engine, f"plain{number}@example.org", size=5)
        add_subscriber(engine, f"combo{number}@example.org", size=5, topics=Topics(categories=("math.CO",)))
    add_subscriber(engine, "bigger@example.org", size=8, topics=Topics(categories=("math.CO",)))

    report = run_planning(engine, now=NOW, policy=DigestPolicy(), message_id=composer.site.make_message_id)

    assert report.planned == 13
    # Three distinct selections: trending/5, math.CO/5 and math.CO/8.
    assert len(calls) == 3
    assert set(calls) == {Topics(), Topics(categories=("math.CO",))}
    found = items_by_address(engine)
    assert all(found[f"plain{n}@example.org"] == found["plain0@example.org"] for n in range(6))
    assert all(found[f"combo{n}@example.org"] == found["combo0@example.org"] for n in range(6))
    assert {paper_id for paper_id, _ in found["combo0@example.org"]} != {
        paper_id for paper_id, _ in found["plain0@example.org"]
    }
    assert len(found["bigger@example.org"]) == 8


def record_sent(engine: Engine, subscriber_id: int, paper_ids: list[int]) -> None:
    """An earlier digest of ``subscriber_id`` that held ``paper_ids``."""
    with engine.begin() as conn:
        record_digest(conn, subscriber_id, paper_ids)


def test_readers_whose_histories_differ_only_before_their_window_share_one_selection(
    engine: Engine, composer: MailComposer, monkeypatch: pytest.MonkeyPatch
) -> None:
    old_day = NOW.date() - dt.timedelta(days=9)  # in the pool's look-back, before the readers' window
    store_papers(engine, [make_paper(i, upvotes=i) for i in range(1, 7)])
    store_papers(engine, [make_paper(i, upvotes=i, listed_on=old_day) for i in range(7, 10)])
    calls: list[frozenset[int]] = []
    original = plan.select_items

    def counted(pool: Any, **arguments: Any) -> Any:
        calls.append(frozenset(arguments["sent"]))
        return original(pool, **arguments)

    monkeypatch.setattr(plan, "select_items", counted)
    readers = [add_subscriber(engine, f"reader{n}@example.org", size=3) for n in range(4)]
    with engine.connect() as conn:
        by_number = {
            int(row.arxiv_id[-5:]): int(row.id) for row in conn.execute(select(papers.c.id, papers.c.arxiv_id))
        }
    record_sent(engine, readers[0].id, [by_number[7]])
    record_sent(engine, readers[1].id, [by_number[8], by_number[9]])
    # A paper of the window itself, sent already: this reader's selection differs and is its own.
    record_sent(engine, readers[3].id, [by_number[6]])

    report = run_planning(engine, now=NOW, policy=DigestPolicy(), message_id=composer.site.make_message_id)

    assert report.planned == 4
    assert sorted(calls, key=len) == [frozenset(), frozenset({by_number[6]})]
    found = items_by_address(engine)
    assert found["reader0@example.org"] == found["reader1@example.org"] == found["reader2@example.org"]
    assert [paper_id for paper_id, _ in found["reader0@example.org"]] == [by_number[n] for n in (6, 5, 4)]
    assert [paper_id for paper_id, _ in found["reader3@example.org"]] == [by_number[n] for n in (5, 4, 3)]


def test_subscribers_sent_different_papers_before_get_their_own_selection(
    engine: Engine, composer: MailComposer
) -> None:
    store_papers(engine, [make_paper(i, upvotes=i) for i in range(1, 9)])
    first = add_subscriber(engine, "first@example.org", size=3)
    add_subscriber(engine, "second@example.org", size=3)
    with engine.begin() as conn:
        top = [row.id for row in conn.execute(select(papers.c.id).order_by(papers.c.external_upvotes.desc()).limit(3))]
        # The first reader was already sent the three most upvoted papers, by an earlier digest.
        record_digest(conn, first.id, top)

    run_planning(engine, now=NOW, policy=DigestPolicy(), message_id=composer.site.make_message_id)

    found = items_by_address(engine)
    assert [paper_id for paper_id, _ in found["second@example.org"]] == top
    assert not {paper_id for paper_id, _ in found["first@example.org"]} & set(top)
    assert len(found["first@example.org"]) == 3
