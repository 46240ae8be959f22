"""``write_last_digest`` goes straight to the driver (issue 13): what it stores reads back as the instant given."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine

from papertide.store.engine import begin_write
from papertide.store.subscribers import bind_last_digest, get_subscriber, write_last_digest
from tests.digest.digest_data import add_subscriber


def test_the_last_digest_instants_written_in_one_batch_read_back_equal_and_touch_no_other_subscriber(
    engine: Engine,
) -> None:
    first = add_subscriber(engine, "a@example.org")
    second = add_subscriber(engine, "b@example.org")
    untouched = add_subscriber(engine, "c@example.org")
    utc = dt.datetime(2026, 8, 20, 7, 0, tzinfo=dt.UTC)
    # Planning's slots are UTC instants (digest/schedule.py); fractions of a second are kept.
    later = dt.datetime(2026, 8, 20, 16, 30, 15, 250000, tzinfo=dt.UTC)
    with begin_write(engine) as conn:
        slots = bind_last_digest(conn.dialect, [(first.id, utc), (second.id, later), (untouched.id, utc)])
        # Only the subscribers whose delivery row the batch created get their slot.
        write_last_digest(conn, slots.only([first.id, second.id]))
        write_last_digest(conn, slots.only([]))
    with engine.connect() as conn:
        read = {s.id: get_subscriber(conn, s.id) for s in (first, second, untouched)}
    assert read[first.id] is not None and read[first.id].last_digest_at == utc  # type: ignore[union-attr]
    assert read[second.id] is not None and read[second.id].last_digest_at == later  # type: ignore[union-attr]
    assert read[untouched.id] is not None and read[untouched.id].last_digest_at is None  # type: ignore[union-attr]
