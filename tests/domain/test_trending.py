"""The trending score and window: literal inputs, hand-computed expectations."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from papertide.domain.trending import (
    TrendingCandidate,
    score_age_hours,
    score_trending,
    select_trending_window,
    trending_score,
)

UTC = dt.UTC


def test_score_is_upvotes_over_offset_age_to_the_gravity() -> None:
    assert trending_score(10, 0.0, gravity=1.0, offset_hours=2.0) == pytest.approx(5.0)
    assert trending_score(12, 10.0, gravity=1.8, offset_hours=2.0) == pytest.approx(12 / 12**1.8)
    assert trending_score(100, 22.0, gravity=2.0, offset_hours=2.0) == pytest.approx(100 / 576)


def test_zero_gravity_ranks_by_upvotes_alone() -> None:
    assert trending_score(7, 1000.0, gravity=0.0, offset_hours=2.0) == 7.0


def test_a_paper_listed_in_the_future_counts_as_just_listed() -> None:
    assert trending_score(4, -30.0, gravity=1.5, offset_hours=4.0) == trending_score(
        4, 0.0, gravity=1.5, offset_hours=4.0
    )


def test_no_votes_score_zero_whatever_the_age() -> None:
    assert trending_score(0, 3.0, gravity=1.8, offset_hours=2.0) == 0.0


@pytest.mark.parametrize(("gravity", "offset"), [(1.8, 0.0), (1.8, -1.0), (-0.5, 2.0)])
def test_parameters_that_would_divide_by_zero_or_reward_age_are_refused(gravity: float, offset: float) -> None:
    with pytest.raises(ValueError):
        trending_score(1, 1.0, gravity=gravity, offset_hours=offset)


def test_age_runs_from_midnight_of_the_listing_day_in_the_lists_zone() -> None:
    now = dt.datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    assert score_age_hours(dt.date(2026, 11, 28), now, UTC) == 12.0
    assert score_age_hours(dt.date(2026, 11, 27), now, UTC) == 36.0
    # Midnight in Tokyo (UTC+9) is 15:00 UTC the day before.
    assert score_age_hours(dt.date(2026, 11, 28), now, ZoneInfo("Asia/Tokyo")) == 21.0
    # Midnight in Los Angeles (UTC-8 in November) is 08:00 UTC.
    assert score_age_hours(dt.date(2026, 11, 28), now, ZoneInfo("America/Los_Angeles")) == 4.0


def test_hand_computed_order_lets_a_fresh_paper_overtake_an_older_one_with_more_votes() -> None:
    now = dt.datetime(2026, 11, 28, 22, 0, tzinfo=UTC)
    candidates = [
        # listed 2026-11-26: age 70 h -> 60 / 72**1.8 = 0.02664
        TrendingCandidate(paper_id=1, upvotes=60, listed_on=dt.date(2026, 11, 26)),
        # listed today: age 22 h -> 10 / 24**1.8 = 0.03287
        TrendingCandidate(paper_id=2, upvotes=10, listed_on=dt.date(2026, 11, 28)),
        # listed yesterday: age 46 h -> 20 / 48**1.8 = 0.01895
        TrendingCandidate(paper_id=3, upvotes=20, listed_on=dt.date(2026, 11, 27)),
        # listed today with no votes: 0
        TrendingCandidate(paper_id=4, upvotes=0, listed_on=dt.date(2026, 11, 28)),
    ]
    hits = score_trending(candidates, now=now, zone=UTC, gravity=1.8, offset_hours=2.0)
    assert [hit.paper_id for hit in hits] == [2, 1, 3, 4]
    assert hits[0].score == pytest.approx(10 / 24**1.8)
    assert hits[1].score == pytest.approx(60 / 72**1.8)
    assert hits[0].detail == {"upvotes": 10.0, "age_hours": 22.0}


def test_higher_gravity_turns_the_same_papers_around() -> None:
    now = dt.datetime(2026, 11, 28, 22, 0, tzinfo=UTC)
    old = TrendingCandidate(paper_id=1, upvotes=60, listed_on=dt.date(2026, 11, 26))
    fresh = TrendingCandidate(paper_id=2, upvotes=10, listed_on=dt.date(2026, 11, 28))
    # Gravity 1: 60/72 = 0.83 beats 10/24 = 0.42; gravity 1.8 reverses it (previous test).
    gentle = score_trending([fresh, old], now=now, zone=UTC, gravity=1.0, offset_hours=2.0)
    assert [hit.paper_id for hit in gentle] == [1, 2]


def test_equal_scores_fall_back_to_votes_then_later_listing_then_higher_id() -> None:
    now = dt.datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    day = dt.date(2026, 11, 28)
    candidates = [
        TrendingCandidate(paper_id=5, upvotes=0, listed_on=dt.date(2026, 11, 27)),
        TrendingCandidate(paper_id=3, upvotes=0, listed_on=day),
        TrendingCandidate(paper_id=9, upvotes=0, listed_on=day),
        TrendingCandidate(paper_id=1, upvotes=0, listed_on=day),
    ]
    hits = score_trending(candidates, now=now, zone=UTC, gravity=1.8, offset_hours=2.0)
    assert [hit.paper_id for hit in hits] == [9, 3, 1, 5]


def test_window_covers_the_last_days_when_papers_were_listed_recently() -> None:
    now = dt.datetime(2026, 11, 28, 9, 30, tzinfo=UTC)
    window = select_trending_window(now, UTC, window_days=7, latest_listed=dt.date(2026, 11, 24))
    assert (window.since, window.until, window.as_of, window.is_fallback) == (
        dt.date(2026, 11, 22),
        dt.date(2026, 11, 28),
        now,
        False,
    )


def test_window_falls_back_to_the_latest_day_with_papers_and_scores_as_of_its_end() -> None:
    now = dt.datetime(2026, 11, 28, 9, 30, tzinfo=UTC)
    window = select_trending_window(now, UTC, window_days=7, latest_listed=dt.date(2026, 8, 21))
    assert window.is_fallback
    assert (window.since, window.until) == (dt.date(2026, 8, 15), dt.date(2026, 8, 21))
    assert window.as_of == dt.datetime(2026, 8, 22, 0, 0, tzinfo=UTC)


def test_window_edge_a_paper_listed_on_the_first_day_of_the_window_is_recent() -> None:
    now = dt.datetime(2026, 11, 28, 23, 59, tzinfo=UTC)
    window = select_trending_window(now, UTC, window_days=7, latest_listed=dt.date(2026, 11, 22))
    assert not window.is_fallback
    one_day_earlier = select_trending_window(now, UTC, window_days=7, latest_listed=dt.date(2026, 11, 21))
    assert one_day_earlier.is_fallback


def test_today_is_taken_in_the_lists_time_zone() -> None:
    # 23:30 UTC on the 27th is already the 28th in Berlin.
    now = dt.datetime(2026, 11, 27, 23, 30, tzinfo=UTC)
    window = select_trending_window(now, ZoneInfo("Europe/Berlin"), window_days=1, latest_listed=None)
    assert (window.since, window.until) == (dt.date(2026, 11, 28), dt.date(2026, 11, 28))
    fallback = select_trending_window(
        now, ZoneInfo("Europe/Berlin"), window_days=1, latest_listed=dt.date(2026, 11, 27)
    )
    assert fallback.as_of == dt.datetime(2026, 11, 27, 23, 0, tzinfo=UTC)


def test_an_empty_collection_gets_the_plain_recent_window() -> None:
    now = dt.datetime(2026, 11, 28, tzinfo=UTC)
    window = select_trending_window(now, UTC, window_days=3, latest_listed=None)
    assert not window.is_fallback and window.since == dt.date(2026, 11, 26)
