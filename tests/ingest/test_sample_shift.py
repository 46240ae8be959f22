"""The bundled sample moved in time so the demo is alive on any date (issue 10)."""

from __future__ import annotations

import datetime as dt

from papertide.domain.errors import InvalidRecord
from papertide.domain.models import Paper
from papertide.ingest.sample import newest_sample_listing, shift_papers


def test_shifting_moves_every_date_by_the_same_days_and_keeps_bad_records() -> None:
    paper = Paper(
        "2512.00001",
        "T",
        "A",
        published=dt.date(2025, 12, 1),
        updated=dt.date(2025, 12, 3),
        listed_on=dt.date(2025, 12, 9),
    )
    bad = InvalidRecord("sample:2", "broken")
    [moved, kept] = shift_papers([paper, bad], 30)
    assert isinstance(moved, Paper) and kept is bad
    assert (moved.published, moved.updated, moved.listed_on) == (
        dt.date(2025, 12, 31),
        dt.date(2026, 1, 2),
        dt.date(2026, 1, 8),
    )


def test_the_newest_listing_day_is_read_from_the_bundled_file() -> None:
    assert newest_sample_listing() == dt.date(2026, 8, 21)
