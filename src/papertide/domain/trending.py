"""The trending score and the "trending now" window: pure, against a clock the caller passes in.

Score (gravity decay, as Hacker News ranks stories)::

    score = upvotes / (age_hours + offset_hours) ** gravity

``upvotes`` is every vote a paper has: those imported from Hugging Face daily papers plus the
community's own. ``age_hours`` runs from the moment the paper was listed (midnight starting its
listing date in the lists' time zone; the listing date is the day it was featured on a daily
list, else its publication date) to ``now``. The offset keeps a paper listed this minute from
an unbounded score; gravity sets how fast age wins over votes. A paper with twice the votes
stays ahead of a younger one until the ratio of their (age + offset) passes 2 ** (1 / gravity).
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections.abc import Iterable
from dataclasses import dataclass

from papertide.domain.models import Hit
from papertide.domain.periods import local_date, start_of_day


def trending_score(upvotes: int, age_hours: float, *, gravity: float, offset_hours: float) -> float:
    """``upvotes / (age_hours + offset_hours) ** gravity``; a negative age (listed in the future) counts as 0."""
    if offset_hours <= 0:
        raise ValueError(f"offset_hours must be positive, got {offset_hours}")
    if gravity < 0:
        raise ValueError(f"gravity must not be negative, got {gravity}")
    decay: float = (max(age_hours, 0.0) + offset_hours) ** gravity
    return max(upvotes, 0) / decay


def score_age_hours(listed_on: dt.date, now: dt.datetime, zone: dt.tzinfo) -> float:
    """Hours from the start of the listing date in ``zone`` to ``now`` (negative if still ahead)."""
    return (now - start_of_day(listed_on, zone)).total_seconds() / 3600.0


@dataclass(frozen=True, slots=True)
class TrendingCandidate:
    """What the score needs to know about one paper."""

    paper_id: int
    upvotes: int
    listed_on: dt.date


def score_trending(
    candidates: Iterable[TrendingCandidate],
    *,
    now: dt.datetime,
    zone: dt.tzinfo,
    gravity: float,
    offset_hours: float,
    limit: int | None = None,
) -> list[Hit]:
    """Candidates as hits, best first; only the best ``limit`` when given.

    Ties (equal scores, e.g. papers of one day with equal votes, or all with none) go to more
    votes, then the later listing, then the higher id, so the order never depends on the database.
    """
    rows: list[tuple[float, int, dt.date, int, float]] = []
    ages: dict[dt.date, float] = {}  # a window spans a few days: convert each day once
    for candidate in candidates:
        age = ages.get(candidate.listed_on)
        if age is None:
            age = ages[candidate.listed_on] = score_age_hours(candidate.listed_on, now, zone)
        score = trending_score(candidate.upvotes, age, gravity=gravity, offset_hours=offset_hours)
        rows.append((score, candidate.upvotes, candidate.listed_on, candidate.paper_id, age))
    best = heapq.nlargest(limit, rows) if limit is not None else sorted(rows, reverse=True)
    return [
        Hit(paper_id=paper_id, score=score, detail={"upvotes": float(upvotes), "age_hours": age})
        for score, upvotes, _listed, paper_id, age in best
    ]


@dataclass(frozen=True, slots=True)
class TrendingWindow:
    """Which listing dates compete, and the instant the scores are computed at.

    ``is_fallback`` is true when nothing was listed in the recent window, so the window was moved
    back to end on ``until``, the latest day with papers, and ``as_of`` is the end of that day.
    """

    since: dt.date
    until: dt.date
    as_of: dt.datetime
    is_fallback: bool = False


def select_trending_window(
    now: dt.datetime, zone: dt.tzinfo, *, window_days: int, latest_listed: dt.date | None
) -> TrendingWindow:
    """The "trending now" window at ``now``: the last ``window_days`` days, today included.

    :param latest_listed: the latest listing date on or before today, None when there is none.
    """
    if window_days < 1:
        raise ValueError(f"window_days must be at least 1, got {window_days}")
    today = local_date(now, zone)
    span = dt.timedelta(days=window_days - 1)
    since = today - span if today - dt.date.min >= span else dt.date.min
    if latest_listed is None or latest_listed >= since:
        return TrendingWindow(since=since, until=today, as_of=now)
    start = latest_listed - span if latest_listed - dt.date.min >= span else dt.date.min
    return TrendingWindow(
        since=start,
        until=latest_listed,
        as_of=start_of_day(latest_listed + dt.timedelta(days=1), zone),
        is_fallback=True,
    )
