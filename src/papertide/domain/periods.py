"""Calendar periods of the lists: days (YYYY-MM-DD), ISO weeks (YYYY-Www) and months (YYYY-MM).

Pure: parsing, bounds, neighbours and "which day is it there" for an aware instant. Weeks are
ISO 8601 weeks (Monday to Sunday, week 1 holds the year's first Thursday), so a year has 52 or
53 of them and the last days of December can belong to week 1 of the next year.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from typing import Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from papertide.domain.errors import PapertideError

PeriodKind = Literal["day", "week", "month"]
PERIOD_KINDS: tuple[PeriodKind, ...] = get_args(PeriodKind)

# [0-9] rather than \d: \d also matches other scripts' digits, which date() would then reject.
_DAY = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_WEEK = re.compile(r"([0-9]{4})-W([0-9]{2})")
_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")
_FORMATS: dict[PeriodKind, str] = {
    "day": "YYYY-MM-DD, e.g. 2026-11-27",
    "week": "YYYY-Www, an ISO week, e.g. 2026-W48",
    "month": "YYYY-MM, e.g. 2026-11",
}


class InvalidPeriod(PapertideError, ValueError):
    """A date, week, month or time zone that cannot be read; the message says the expected form."""


@dataclass(frozen=True, slots=True)
class Period:
    """A run of whole days, first and last included."""

    kind: PeriodKind
    start: dt.date
    end: dt.date

    @property
    def key(self) -> str:
        """The canonical text form, the one ``parse_period`` reads back."""
        if self.kind == "day":
            return self.start.isoformat()
        if self.kind == "week":
            year, week, _ = self.start.isocalendar()
            return f"{year:04d}-W{week:02d}"
        return f"{self.start.year:04d}-{self.start.month:02d}"

    @property
    def label(self) -> str:
        """How a person reads it: '27 Nov 2026', 'Week 48, 2026 (23–29 Nov)', 'November 2026'."""
        if self.kind == "day":
            return f"{self.start.day} {self.start:%b %Y}"
        if self.kind == "week":
            year, week, _ = self.start.isocalendar()
            first = f"{self.start.day} {self.start:%b}" if self.start.month != self.end.month else str(self.start.day)
            return f"Week {week}, {year} ({first}–{self.end.day} {self.end:%b})"
        return f"{self.start:%B %Y}"

    def contains(self, day: dt.date) -> bool:
        """Whether the day falls inside the period."""
        return self.start <= day <= self.end


def iso_weeks_in_year(year: int) -> int:
    """52 or 53: 28 December always lies in the year's last ISO week."""
    return dt.date(year, 12, 28).isocalendar()[1]


def parse_period_kind(text: str) -> PeriodKind:
    """'day', 'week' or 'month'."""
    for kind in PERIOD_KINDS:
        if text == kind:
            return kind
    raise InvalidPeriod(f"unknown period {text!r}: use day, week or month")


def parse_period(kind: PeriodKind, text: str) -> Period:
    """Read a period written in its own canonical form (the form used in URLs)."""
    try:
        if kind == "day" and (match := _DAY.fullmatch(text)):
            return period_containing("day", dt.date(int(match[1]), int(match[2]), int(match[3])))
        if kind == "week" and (match := _WEEK.fullmatch(text)):
            year, week = int(match[1]), int(match[2])
            if year < 1:
                raise InvalidPeriod(f"{text!r}: years start at 0001")
            if not 1 <= week <= iso_weeks_in_year(year):
                raise InvalidPeriod(f"{text!r}: {year} has ISO weeks 1 to {iso_weeks_in_year(year)}")
            return period_containing("week", dt.date.fromisocalendar(year, week, 1))
        if kind == "month" and (match := _MONTH.fullmatch(text)):
            return period_containing("month", dt.date(int(match[1]), int(match[2]), 1))
    except ValueError as error:
        if isinstance(error, InvalidPeriod):
            raise
        raise InvalidPeriod(f"{text!r} is not a real {kind}: {error}") from None
    raise InvalidPeriod(f"{text!r} is not a {kind}: write it as {_FORMATS[kind]}")


def parse_period_reference(kind: PeriodKind, text: str) -> Period:
    """A period in its own form, or the period of that kind containing a YYYY-MM-DD day.

    ``week`` + ``2026-11-27`` is 2026-W48; ``month`` + ``2026-11-27`` is 2026-11. Used by the
    CLI and the API, where one ``--date`` serves every kind.
    """
    if kind != "day" and _DAY.fullmatch(text):
        return period_containing(kind, parse_period("day", text).start)
    return parse_period(kind, text)


def period_containing(kind: PeriodKind, day: dt.date) -> Period:
    """The day, ISO week or month that ``day`` belongs to."""
    if kind == "day":
        return Period("day", day, day)
    if kind == "week":
        start = day - dt.timedelta(days=day.weekday())
        # The week of 9999-12-31 runs past the last representable day; it is cut there.
        end = start + dt.timedelta(days=6) if start <= dt.date.max - dt.timedelta(days=6) else dt.date.max
        return Period("week", start, end)
    last = calendar.monthrange(day.year, day.month)[1]
    return Period("month", day.replace(day=1), day.replace(day=last))


def previous_period(period: Period) -> Period | None:
    """The period of the same kind just before, or None before year 1."""
    if period.start == dt.date.min:
        return None
    return period_containing(period.kind, period.start - dt.timedelta(days=1))


def next_period(period: Period) -> Period | None:
    """The period of the same kind just after, or None after year 9999."""
    if period.end == dt.date.max:
        return None
    return period_containing(period.kind, period.end + dt.timedelta(days=1))


def parse_time_zone(name: str) -> ZoneInfo:
    """An IANA time zone by name ('UTC', 'Europe/Paris')."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidPeriod(f"unknown time zone {name!r}: use an IANA name such as UTC or Europe/Paris") from None


def local_date(now: dt.datetime, zone: dt.tzinfo) -> dt.date:
    """The calendar day it is at instant ``now`` in ``zone``; ``now`` must be time-zone aware."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("local_date needs an aware datetime")
    return now.astimezone(zone).date()


def start_of_day(day: dt.date, zone: dt.tzinfo) -> dt.datetime:
    """The instant ``day`` begins in ``zone``, as an aware UTC datetime.

    Across a daylight-saving change the local midnight can be skipped or repeated; the
    first instant that day is used (``fold=0``), which zoneinfo resolves consistently.
    """
    return dt.datetime.combine(day, dt.time(0, 0), tzinfo=zone).astimezone(dt.UTC)


def period_instants(period: Period, zone: dt.tzinfo) -> tuple[dt.datetime, dt.datetime]:
    """The half-open interval [start, stop) of instants the period covers in ``zone``, in UTC."""
    start = start_of_day(period.start, zone)
    if period.end == dt.date.max:
        stop = dt.datetime.combine(dt.date.max, dt.time.max, tzinfo=zone).astimezone(dt.UTC)
    else:
        stop = start_of_day(period.end + dt.timedelta(days=1), zone)
    return start, stop
