"""accounts/hub.py on both databases: a member's own digest, and deleting an account (issue 10)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, Table, func, select

from papertide.accounts.hub import run_account_deletion, run_member_subscribe, run_member_unsubscribe
from papertide.domain.models import Paper
from papertide.domain.subscribers import Preferences
from papertide.store.accounts import create_login_token, write_login
from papertide.store.engine import begin_write
from papertide.store.papers import upsert_papers
from papertide.store.schema import login_tokens, papers, subscribers, users, votes
from papertide.store.subscribers import get_subscriber_by_email, insert_subscriber
from papertide.store.votes import write_vote

NOW = dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.UTC)


def _count(engine: Engine, table: Table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_a_member_subscription_is_confirmed_at_once_and_keeps_earlier_preferences(engine: Engine) -> None:
    fresh = run_member_subscribe(engine, "ada@example.org", Preferences(), now=NOW)
    assert fresh.status == "confirmed" and fresh.confirmed_at is not None
    with begin_write(engine) as conn:
        insert_subscriber(conn, "grace@example.org", Preferences(hour=18), status="pending", now=NOW)
    again = run_member_subscribe(engine, "grace@example.org", Preferences(), now=NOW)
    assert again.status == "confirmed" and again.preferences.hour == 18
    left = run_member_unsubscribe(engine, "grace@example.org", now=NOW)
    assert left is not None and left.status == "unsubscribed"
    assert run_member_unsubscribe(engine, "nobody@example.org", now=NOW) is None


def test_deleting_an_account_erases_the_person_and_keeps_the_upvote_counts(engine: Engine) -> None:
    with begin_write(engine) as conn:
        upsert_papers(conn, [Paper(arxiv_id="2611.00001", title="T", abstract="A", external_upvotes=4)], NOW)
        paper_id = conn.execute(select(papers.c.id)).scalar_one()
        ada, grace = write_login(conn, "ada@example.org", NOW), write_login(conn, "grace@example.org", NOW)
        for user in (ada, grace):
            write_vote(conn, user_id=user.id, paper_id=paper_id, wanted=True, now=NOW)
        create_login_token(conn, "ada@example.org", next_url="/account", now=NOW, lifetime=dt.timedelta(minutes=15))
    run_member_subscribe(engine, "ada@example.org", Preferences(), now=NOW)

    report = run_account_deletion(engine, ada.id)
    assert (report.deleted, report.votes_unlinked, report.subscription_deleted) == (True, 1, True)
    with engine.connect() as conn:
        assert conn.execute(select(users.c.email)).scalars().all() == ["grace@example.org"]
        assert conn.execute(select(votes.c.user_id)).scalars().all() == [grace.id]
        assert conn.execute(select(papers.c.community_upvotes)).scalar_one() == 2  # both votes still count
        assert get_subscriber_by_email(conn, "ada@example.org") is None
    assert _count(engine, login_tokens) == 0 and _count(engine, subscribers) == 0
    assert run_account_deletion(engine, ada.id).deleted is False
