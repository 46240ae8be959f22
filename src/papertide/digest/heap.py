"""Keeping a digest run's long-lived objects out of Python's full garbage collections.

CPython's cyclic collector walks every object it tracks in each full (oldest-generation)
collection, and a digest run allocates enough to set off one every few thousand messages.
Most of what it walks lives as long as the run: imported modules, compiled templates, the
engine, and, once planning is over, what planning hands to delivery. In the run's own process
a full collection cost ~0.16 s (9-10 of them in a 30,000-subscriber run, ~1.6 s of the run's
~50 s of CPU; bench/gcprobe, docs/digest.md). ``gc.freeze``
moves what exists into a generation the collector skips; objects made later are collected as
before. Reference counting still frees frozen objects the moment nothing refers to them;
only a frozen cycle that becomes garbage waits, until ``gc.unfreeze`` at the run's end.

Delivery freezes again after each batch it sends (digest/deliver.py ``freeze``): its caches
(selections, papers, the composer's cards, digest bodies and lines) grow batch by batch and
live as long as the worker, and the older generations' collections walked them again (in a
helper 0.28-0.35 s of collection per ~6,000 messages before, 0.20-0.25 s after; docs/digest.md).
In ``papertide serve`` the freezes hold the web threads' objects too, as the run's first two
already did, and for as long: until the run's end.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def long_lived_frozen() -> Iterator[Callable[[], None]]:
    """Freeze what exists now for the block; call the yielded function to freeze what was made since.

    Unfreezes everything on exit (a frozen cycle that became garbage meanwhile is collected
    from then on), so a long-lived process, such as ``papertide serve``'s scheduler, keeps no
    garbage from one run to the next.
    """
    gc.freeze()
    try:
        yield gc.freeze
    finally:
        gc.unfreeze()
