"""domain/clock.py: the real clock is aware UTC, and as_utc reads every stored or typed instant as UTC."""

from __future__ import annotations

import datetime as dt

from papertide.domain.clock import as_utc, utc_now


def test_the_real_clock_is_aware_and_in_utc() -> None:
    before = dt.datetime.now(dt.UTC)
    now = utc_now()
    assert now.utcoffset() == dt.timedelta(0)
    assert before <= now <= dt.datetime.now(dt.UTC)


def test_a_naive_datetime_is_taken_as_utc() -> None:
    assert as_utc(dt.datetime(2026, 8, 21, 7, 0)) == dt.datetime(2026, 8, 21, 7, 0, tzinfo=dt.UTC)
    assert as_utc(dt.datetime(2026, 8, 21, 7, 0)).tzinfo is dt.UTC


def test_an_aware_datetime_keeps_its_instant_and_is_shown_in_utc() -> None:
    paris = dt.timezone(dt.timedelta(hours=2))
    converted = as_utc(dt.datetime(2026, 8, 21, 9, 0, tzinfo=paris))
    assert converted == dt.datetime(2026, 8, 21, 7, 0, tzinfo=dt.UTC)
    assert (converted.hour, converted.tzinfo) == (7, dt.UTC)


def test_none_stays_none() -> None:
    assert as_utc(None) is None
