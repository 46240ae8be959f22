"""A delivery helper's progress reaches the run's shared counter in batches, and all of it in the end."""

from __future__ import annotations

import multiprocessing
from multiprocessing.sharedctypes import Synchronized

from papertide.digest.parallel import SentTally


class SteppedClock:
    """Monotonic seconds that move only when the test says so."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def shared_counter() -> Synchronized[int]:
    counter: Synchronized[int] = multiprocessing.get_context("spawn").Value("i", 0)
    return counter


def test_a_helpers_sent_digests_reach_the_shared_counter_once_a_batch_is_full() -> None:
    shared = shared_counter()
    tally = SentTally(shared, every=4, interval=0.2, clock=SteppedClock())
    for _ in range(3):
        tally.add(1)
    assert shared.value == 0, "three digests are fewer than a batch: the lock is not taken yet"
    tally.add(1)
    assert shared.value == 4 and tally.pending == 0
    for _ in range(5):
        tally.add(1)
    assert shared.value == 8 and tally.pending == 1


def test_a_slow_helpers_digests_reach_the_shared_counter_after_the_interval() -> None:
    shared = shared_counter()
    clock = SteppedClock()
    tally = SentTally(shared, every=32, interval=0.25, clock=clock)
    tally.add(1)
    clock.now += 0.125
    tally.add(1)
    assert shared.value == 0
    clock.now += 0.125
    tally.add(1)
    assert shared.value == 3, "0.25 s after the last addition the progress moves even with a batch not full"
    clock.now += 0.125
    tally.add(1)
    assert shared.value == 3, "the interval counts from the last addition"


def test_flushing_adds_every_pending_digest_so_the_final_count_is_exact() -> None:
    shared = shared_counter()
    tally = SentTally(shared, every=32, interval=0.2, clock=SteppedClock())
    for _ in range(7):
        tally.add(1)
    tally.flush()
    tally.flush()
    assert shared.value == 7 and tally.pending == 0
