"""A digest is due at the subscriber's hour in their own time zone, once per day or week."""

from __future__ import annotations

import datetime as dt

from papertide.digest.schedule import select_due_slot, select_period_label, select_since, select_slot
from papertide.domain.subscribers import Preferences, Subscriber

UTC = dt.UTC


def subscriber(**changes: object) -> Subscriber:
    values: dict[str, object] = {
        "id": 1,
        "email": "jane@example.org",
        "status": "confirmed",
        "preferences": Preferences(hour=7, timezone="UTC"),
        "created_at": dt.datetime(2026, 8, 1, tzinfo=UTC),
        "confirmed_at": dt.datetime(2026, 8, 1, tzinfo=UTC),
    }
    values.update(changes)
    return Subscriber(**values)  # type: ignore[arg-type]


def test_before_the_hour_the_slot_is_yesterdays_and_after_it_todays() -> None:
    preferences = Preferences(hour=7, timezone="UTC")
    before = select_slot(preferences, dt.datetime(2026, 8, 21, 6, 59, tzinfo=UTC))
    after = select_slot(preferences, dt.datetime(2026, 8, 21, 7, 0, tzinfo=UTC))
    assert before is not None and after is not None
    assert before.period_key == "day:2026-08-20"
    assert after.period_key == "day:2026-08-21"
    assert after.due_at == dt.datetime(2026, 8, 21, 7, 0, tzinfo=UTC)


def test_the_hour_is_read_in_the_subscribers_time_zone() -> None:
    tokyo = select_slot(Preferences(hour=7, timezone="Asia/Tokyo"), dt.datetime(2026, 8, 21, 0, 30, tzinfo=UTC))
    assert tokyo is not None
    assert tokyo.period_key == "day:2026-08-21"
    assert tokyo.due_at == dt.datetime(2026, 8, 20, 22, 0, tzinfo=UTC)
    new_york = select_slot(
        Preferences(hour=7, timezone="America/New_York"), dt.datetime(2026, 8, 21, 10, 0, tzinfo=UTC)
    )
    assert new_york is not None
    assert new_york.period_key == "day:2026-08-20"


def test_weekly_digests_are_due_on_mondays() -> None:
    slot = select_slot(Preferences(frequency="weekly", hour=8), dt.datetime(2026, 8, 21, 12, tzinfo=UTC))
    assert slot is not None
    assert slot.period_key == "week:2026-W34"
    assert slot.due_at == dt.datetime(2026, 8, 17, 8, 0, tzinfo=UTC)
    assert select_period_label(slot.period_key) == ("weekly", "17 Aug 2026")


def test_paused_subscribers_have_no_slot() -> None:
    assert select_slot(Preferences(frequency="paused"), dt.datetime(2026, 8, 21, tzinfo=UTC)) is None


def test_a_slot_is_due_once_then_not_again() -> None:
    now = dt.datetime(2026, 8, 21, 12, tzinfo=UTC)
    slot = select_due_slot(subscriber(), now, max_delay=dt.timedelta(hours=20))
    assert slot is not None
    assert select_due_slot(subscriber(last_digest_at=slot.due_at), now, max_delay=dt.timedelta(hours=20)) is None


def test_unconfirmed_and_late_and_pre_confirmation_slots_are_not_due() -> None:
    now = dt.datetime(2026, 8, 21, 12, tzinfo=UTC)
    delay = dt.timedelta(hours=20)
    assert select_due_slot(subscriber(status="pending"), now, max_delay=delay) is None
    assert select_due_slot(subscriber(status="unsubscribed"), now, max_delay=delay) is None
    assert select_due_slot(subscriber(), now, max_delay=dt.timedelta(hours=4)) is None
    confirmed_after_slot = subscriber(confirmed_at=dt.datetime(2026, 8, 21, 9, tzinfo=UTC))
    assert select_due_slot(confirmed_after_slot, now, max_delay=delay) is None


def test_new_papers_are_counted_from_the_previous_digest_or_one_period_back() -> None:
    now = dt.datetime(2026, 8, 21, 12, tzinfo=UTC)
    first = subscriber()
    slot = select_due_slot(first, now, max_delay=dt.timedelta(hours=20))
    assert slot is not None
    lookback = dt.timedelta(days=14)
    assert select_since(first, slot, max_lookback=lookback) == dt.datetime(2026, 8, 20, 7, tzinfo=UTC)
    returning = subscriber(last_digest_at=dt.datetime(2026, 6, 1, 7, tzinfo=UTC))
    assert select_since(returning, slot, max_lookback=lookback) == slot.due_at - lookback
