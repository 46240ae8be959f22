"""digest/heap.py: what a run freezes is skipped by the collector during the run and collected after it."""

from __future__ import annotations

import gc
import weakref

from papertide.digest.heap import long_lived_frozen


class Node:
    """An object that can take part in a reference cycle and be watched through a weak reference."""

    def __init__(self) -> None:
        self.other: Node | None = None


def make_cycle() -> weakref.ref[Node]:
    first, second = Node(), Node()
    first.other, second.other = second, first
    return weakref.ref(first)


def test_a_cycle_frozen_during_the_run_is_collected_once_the_run_is_over() -> None:
    watched = make_cycle()  # garbage already, but only the cyclic collector can free it
    with long_lived_frozen():
        gc.collect()
        assert watched() is not None, "frozen objects are not walked by collections inside the block"
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0
    gc.collect()
    assert watched() is None, "leaving the block unfreezes: no garbage is kept past the run"


def test_objects_made_inside_the_block_are_collected_as_usual_until_frozen_again() -> None:
    with long_lived_frozen() as freeze_made_since:
        made_inside = make_cycle()
        gc.collect()
        assert made_inside() is None
        kept_cycle = make_cycle()
        freeze_made_since()
        gc.collect()
        assert kept_cycle() is not None
    gc.collect()
    assert kept_cycle() is None


def test_an_error_inside_the_block_still_unfreezes() -> None:
    try:
        with long_lived_frozen():
            raise RuntimeError("the run failed")
    except RuntimeError:
        pass
    assert gc.get_freeze_count() == 0
