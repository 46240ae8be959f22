"""Days, ISO weeks and months: parsing, bounds, neighbours and time zones."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from papertide.domain.periods import (
    InvalidPeriod,
    Period,
    iso_weeks_in_year,
    local_date,
    next_period,
    parse_period,
    parse_period_kind,
    parse_period_reference,
    parse_time_zone,
    period_containing,
    period_instants,
    previous_period,
)

D = dt.date


def test_a_day_parses_to_itself_and_prints_back() -> None:
    period = parse_period("day", "2026-11-27")
    assert (period.start, period.end, period.key, period.label) == (
        D(2026, 11, 27),
        D(2026, 11, 27),
        "2026-11-27",
        "27 Nov 2026",
    )


def test_an_iso_week_runs_monday_to_sunday() -> None:
    period = parse_period("week", "2026-W48")
    assert (period.start, period.end) == (D(2026, 11, 23), D(2026, 11, 29))
    assert period.start.weekday() == 0 and period.key == "2026-W48"
    assert period.label == "Week 48, 2026 (23–29 Nov)"


def test_week_53_exists_only_in_long_years_and_crosses_new_year() -> None:
    assert iso_weeks_in_year(2026) == 53 and iso_weeks_in_year(2027) == 52 and iso_weeks_in_year(2020) == 53
    week = parse_period("week", "2026-W53")
    assert (week.start, week.end) == (D(2026, 12, 28), D(2027, 1, 3))
    assert week.label == "Week 53, 2026 (28 Dec–3 Jan)"
    with pytest.raises(InvalidPeriod, match="2027 has ISO weeks 1 to 52"):
        parse_period("week", "2027-W53")


def test_new_years_day_can_belong_to_the_previous_years_last_week() -> None:
    # 1 January 2027 is a Friday: it lies in 2026-W53.
    assert period_containing("week", D(2027, 1, 1)).key == "2026-W53"
    # 29 December 2025 is a Monday in 2026-W01.
    assert period_containing("week", D(2025, 12, 29)).key == "2026-W01"


def test_week_neighbours_step_across_week_53() -> None:
    week = parse_period("week", "2026-W53")
    assert previous_period(week) == parse_period("week", "2026-W52")
    assert next_period(week) == parse_period("week", "2027-W01")


@pytest.mark.parametrize(
    ("text", "last_day"),
    [
        ("2026-01", 31),
        ("2026-02", 28),
        ("2024-02", 29),
        ("2026-04", 30),
        ("2026-12", 31),
        ("2000-02", 29),
        ("1900-02", 28),
    ],
)
def test_a_month_ends_on_its_real_last_day(text: str, last_day: int) -> None:
    period = parse_period("month", text)
    assert period.start.day == 1 and period.end.day == last_day and period.key == text


def test_month_neighbours_step_across_the_year() -> None:
    december = parse_period("month", "2026-12")
    assert next_period(december) == parse_period("month", "2027-01")
    assert previous_period(parse_period("month", "2027-01")) == december
    assert next_period(parse_period("month", "2024-01")) == Period("month", D(2024, 2, 1), D(2024, 2, 29))


def test_day_neighbours_step_across_month_ends_and_leap_days() -> None:
    assert next_period(parse_period("day", "2024-02-28")).key == "2024-02-29"  # type: ignore[union-attr]
    assert next_period(parse_period("day", "2024-02-29")).key == "2024-03-01"  # type: ignore[union-attr]
    assert previous_period(parse_period("day", "2027-01-01")).key == "2026-12-31"  # type: ignore[union-attr]


def test_the_calendar_ends_have_no_neighbour_beyond_them() -> None:
    assert previous_period(parse_period("day", "0001-01-01")) is None
    assert next_period(parse_period("day", "9999-12-31")) is None
    last_week = period_containing("week", D(9999, 12, 31))
    assert last_week.end == D(9999, 12, 31) and next_period(last_week) is None


@pytest.mark.parametrize(
    ("kind", "text"),
    [
        ("day", "2026-02-30"),
        ("day", "2026-13-01"),
        ("day", "2026-1-5"),
        ("day", "26-11-27"),
        ("day", "2026-11-27x"),
        ("day", "２０２６-11-27"),  # full-width digits
        ("day", ""),
        ("week", "2026-W00"),
        ("week", "2026-W54"),
        ("week", "2026-48"),
        ("week", "2026W48"),
        ("week", "0000-W01"),
        ("month", "2026-00"),
        ("month", "2026-13"),
        ("month", "2026-1"),
        ("month", "November"),
    ],
)
def test_malformed_periods_are_refused_with_the_expected_form(kind: str, text: str) -> None:
    with pytest.raises(InvalidPeriod) as caught:
        parse_period(parse_period_kind(kind), text)
    assert repr(text) in str(caught.value)


def test_an_unknown_kind_is_refused() -> None:
    with pytest.raises(InvalidPeriod, match="use day, week or month"):
        parse_period_kind("year")


def test_a_reference_may_name_any_day_inside_a_week_or_month() -> None:
    assert parse_period_reference("week", "2026-11-27").key == "2026-W48"
    assert parse_period_reference("month", "2026-11-27").key == "2026-11"
    assert parse_period_reference("week", "2026-W48").key == "2026-W48"
    assert parse_period_reference("day", "2026-11-27").key == "2026-11-27"
    with pytest.raises(InvalidPeriod):
        parse_period_reference("day", "2026-W48")


def test_the_local_day_depends_on_the_time_zone() -> None:
    instant = dt.datetime(2026, 11, 27, 23, 30, tzinfo=dt.UTC)
    assert local_date(instant, dt.UTC) == D(2026, 11, 27)
    assert local_date(instant, ZoneInfo("Asia/Tokyo")) == D(2026, 11, 28)
    assert local_date(dt.datetime(2026, 11, 28, 5, 0, tzinfo=dt.UTC), ZoneInfo("America/New_York")) == D(2026, 11, 28)
    assert local_date(dt.datetime(2026, 11, 28, 4, 59, tzinfo=dt.UTC), ZoneInfo("America/New_York")) == D(2026, 11, 27)
    with pytest.raises(ValueError):
        local_date(dt.datetime(2026, 11, 27, 23, 30), dt.UTC)


def test_period_instants_are_half_open_and_follow_daylight_saving() -> None:
    paris = ZoneInfo("Europe/Paris")
    start, stop = period_instants(parse_period("day", "2026-03-29"), paris)  # clocks go forward: 23 hours
    assert start == dt.datetime(2026, 3, 28, 23, 0, tzinfo=dt.UTC)
    assert stop - start == dt.timedelta(hours=23)
    start, stop = period_instants(parse_period("day", "2026-10-25"), paris)  # clocks go back: 25 hours
    assert stop - start == dt.timedelta(hours=25)
    start, stop = period_instants(parse_period("month", "2026-11"), dt.UTC)
    assert (start, stop) == (dt.datetime(2026, 11, 1, tzinfo=dt.UTC), dt.datetime(2026, 12, 1, tzinfo=dt.UTC))


def test_unknown_time_zones_are_refused_by_name() -> None:
    assert parse_time_zone("Europe/Paris") == ZoneInfo("Europe/Paris")
    with pytest.raises(InvalidPeriod, match="Mars/Olympus"):
        parse_time_zone("Mars/Olympus")
    with pytest.raises(InvalidPeriod):
        parse_time_zone("../etc/passwd")
