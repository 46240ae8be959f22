"""Accounts, sign-in links, votes and rate limits in the store, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import threading

from sqlalchemy import Engine, select

from papertide.domain.accounts import LinkState
from papertide.domain.models import Paper
from papertide.store.accounts import (
    check_login_token,
    create_login_token,
    redeem_login_token,
    write_login,
    write_session_epoch,
)
from papertide.store.engine import begin_write
from papertide.store.papers import upsert_papers
from papertide.store.ratelimits import RateRule, count_rate_events, take_rate_slots
from papertide.store.schema import papers
from papertide.store.trending import read_trending_now
from papertide.store.votes import count_paper_votes, list_upvoted_papers, list_voted_ids, write_vote

NOW = dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)


def test_a_sign_in_link_works_once_and_then_says_it_was_used(engine: Engine) -> None:
    with begin_write(engine) as conn:
        token = create_login_token(conn, "ada@example.org", now=NOW, lifetime=15 * MINUTE, next_url="/account")
    with engine.connect() as conn:
        assert check_login_token(conn, token, NOW).state is LinkState.VALID
    with begin_write(engine) as conn:
        first = redeem_login_token(conn, token, NOW + MINUTE)
        second = redeem_login_token(conn, token, NOW + MINUTE)
    assert (first.state, first.email, first.next_url) == (LinkState.VALID, "ada@example.org", "/account")
    assert (second.state, second.email) == (LinkState.USED, "ada@example.org")


def test_a_link_expires_after_its_lifetime_and_unknown_tokens_are_unknown(engine: Engine) -> None:
    with begin_write(engine) as conn:
        token = create_login_token(conn, "ada@example.org", now=NOW, lifetime=15 * MINUTE)
        assert redeem_login_token(conn, token, NOW + 15 * MINUTE).state is LinkState.EXPIRED
        assert redeem_login_token(conn, "forged", NOW).state is LinkState.UNKNOWN


def test_two_racing_redemptions_of_one_link_let_exactly_one_in(engine: Engine) -> None:
    with begin_write(engine) as conn:
        token = create_login_token(conn, "ada@example.org", now=NOW, lifetime=15 * MINUTE)
    barrier = threading.Barrier(2)
    states: list[LinkState] = []

    def redeem() -> None:
        barrier.wait()
        with begin_write(engine) as conn:
            states.append(redeem_login_token(conn, token, NOW).state)

    threads = [threading.Thread(target=redeem) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(state.value for state in states) == ["used", "valid"]


def test_signing_in_twice_keeps_one_account_and_epochs_end_sessions(engine: Engine) -> None:
    with begin_write(engine) as conn:
        first = write_login(conn, "ada@example.org", NOW)
        again = write_login(conn, "ada@example.org", NOW + MINUTE)
        assert first.id == again.id and again.last_login_at == NOW + MINUTE
        assert write_session_epoch(conn, first.id) == 1


def test_rate_limits_count_within_a_sliding_window(engine: Engine) -> None:
    rule = RateRule("signin:address:ada@example.org", 2, 10 * MINUTE)
    with begin_write(engine) as conn:
        assert take_rate_slots(conn, [rule], NOW).allowed
        assert take_rate_slots(conn, [rule], NOW + 4 * MINUTE).allowed
        refused = take_rate_slots(conn, [rule], NOW + 5 * MINUTE)
        assert not refused.allowed and refused.retry_after_seconds == 300 and refused.refused_key == rule.key
        assert take_rate_slots(conn, [rule], NOW + 10 * MINUTE + dt.timedelta(seconds=1)).allowed
        assert count_rate_events(conn, rule.key, window=10 * MINUTE, now=NOW + 11 * MINUTE) == 2


def test_a_refusal_by_one_rule_uses_up_no_other_rule(engine: Engine) -> None:
    address = RateRule("signin:address:ada@example.org", 5, 60 * MINUTE)
    client = RateRule("signin:client:192.0.2.1", 1, 60 * MINUTE)
    with begin_write(engine) as conn:
        assert take_rate_slots(conn, [address, client], NOW).allowed
        decision = take_rate_slots(conn, [address, client], NOW + MINUTE)
        assert not decision.allowed and decision.refused_key == client.key
        assert count_rate_events(conn, address.key, window=60 * MINUTE, now=NOW + MINUTE) == 1


def test_concurrent_requests_never_pass_a_rate_limit(engine: Engine) -> None:
    rule = RateRule("vote:user:1", 3, 60 * MINUTE)
    barrier = threading.Barrier(6)
    allowed: list[bool] = []

    def attempt() -> None:
        barrier.wait()
        with begin_write(engine) as conn:
            allowed.append(take_rate_slots(conn, [rule], NOW).allowed)

    threads = [threading.Thread(target=attempt) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(allowed) == [False, False, False, True, True, True]


def test_votes_keep_the_cached_count_equal_to_the_votes(engine: Engine) -> None:
    with begin_write(engine) as conn:
        upsert_papers(conn, [Paper(arxiv_id="2611.00001", title="T", abstract="A", external_upvotes=4)], NOW)
        paper_id = conn.execute(select(papers.c.id)).scalar_one()
        ada, grace = write_login(conn, "ada@example.org", NOW), write_login(conn, "grace@example.org", NOW)
        assert write_vote(conn, user_id=ada.id, paper_id=paper_id, wanted=True, now=NOW).upvotes == 5
        assert not write_vote(conn, user_id=ada.id, paper_id=paper_id, wanted=True, now=NOW).changed
        assert write_vote(conn, user_id=grace.id, paper_id=paper_id, wanted=True, now=NOW).upvotes == 6
        assert write_vote(conn, user_id=ada.id, paper_id=paper_id, wanted=False, now=NOW).upvotes == 5
        assert not write_vote(conn, user_id=ada.id, paper_id=paper_id, wanted=False, now=NOW).changed
        cached = conn.execute(select(papers.c.community_upvotes)).scalar_one()
        assert cached == count_paper_votes(conn, paper_id) == 1
        assert list_voted_ids(conn, grace.id) == {paper_id} and list_voted_ids(conn, ada.id, [paper_id]) == set()
        assert [item.paper.arxiv_id for item in list_upvoted_papers(conn, grace.id, limit=10)] == ["2611.00001"]


def test_trending_pages_run_from_scored_papers_into_unvoted_ones_in_listing_order(engine: Engine) -> None:
    day = dt.date(2026, 11, 27)
    batch = [
        Paper(arxiv_id="2611.00001", title="T", abstract="A", listed_on=day, external_upvotes=2),
        Paper(arxiv_id="2611.00002", title="T", abstract="A", listed_on=day - dt.timedelta(days=1), external_upvotes=9),
        Paper(arxiv_id="2611.00003", title="T", abstract="A", listed_on=day - dt.timedelta(days=2)),
        Paper(arxiv_id="2611.00004", title="T", abstract="A", listed_on=day),
        Paper(arxiv_id="2611.00005", title="T", abstract="A", listed_on=day),
        Paper(arxiv_id="2611.00006", title="T", abstract="A", listed_on=day - dt.timedelta(days=30)),  # outside
    ]
    with begin_write(engine) as conn:
        upsert_papers(conn, batch, NOW)

    def page(number: int) -> list[str]:
        with engine.connect() as conn:
            result = read_trending_now(
                conn,
                now=NOW,
                zone=dt.UTC,
                window_days=7,
                gravity=1.8,
                offset_hours=2.0,
                limit=2,
                offset=(number - 1) * 2,
            )
        assert result.total == 5
        return [ranked.item.paper.arxiv_id for ranked in result.papers]

    # 9 / (57 + 2) ** 1.8 = 0.0059 beats 2 / (33 + 2) ** 1.8 = 0.0033; then the unvoted: latest listing, higher id.
    assert [page(1), page(2), page(3), page(4)] == [
        ["2611.00002", "2611.00001"],
        ["2611.00005", "2611.00004"],
        ["2611.00003"],
        [],
    ]
