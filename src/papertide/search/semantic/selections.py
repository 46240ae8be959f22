"""A date or category filter's mask over the snapshot's papers, found again by the id array it produced (issue 13).

A filter's first use selects its papers from the snapshot's days and categories (days.py) as a
mask over every paper, turns the mask into ids (kept by search/allowed.py), and hands the ids to
the vector index, which looked up each id's row, marked it and packed the marks into the bitmap
faiss reads (admitted.py): at a million papers about 0.5 ms of CPU for until:2016-01-01's 92,000
ids, inside searches about 1 ms. Where the snapshot's rows are its papers in the same order
(mapped.py ``MappedIndex.rows_follow_papers``), the mask is already those marks: packing it is
0.03 ms. So the mask is kept here for the id array made from it, and found again by that array's
identity (as bitmaps.py finds a bitmap), never by comparing ids.

Only a read-only id array is answered (search/allowed.py marks what it keeps so): a writable one
could have been changed since its mask was made. The array is held weakly; a new array at the
same address is told apart by the weak reference.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from typing import Any

import numpy as np
import numpy.typing as npt

Mask = npt.NDArray[np.bool_]


class Selections:
    """The masks of the last ``entries`` id arrays selected from one snapshot's papers (thread-safe)."""

    def __init__(self, entries: int = 16) -> None:
        self.entries = entries
        self._kept: OrderedDict[int, tuple[weakref.ref[np.ndarray[Any, Any]], Mask]] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, ids: np.ndarray[Any, Any], passing: Mask) -> None:
        """``passing`` marks (in the snapshot's paper order) exactly the snapshot's papers among ``ids``."""
        passing.flags.writeable = False
        with self._lock:
            self._kept[id(ids)] = (weakref.ref(ids), passing)
            self._kept.move_to_end(id(ids))
            while len(self._kept) > self.entries:
                self._kept.popitem(last=False)

    def mask_of(self, ids: object) -> Mask | None:
        """The mask remembered for this very array of ``ids``, if read-only; else None."""
        if not isinstance(ids, np.ndarray) or ids.flags.writeable:
            return None
        with self._lock:
            entry = self._kept.get(id(ids))
        if entry is None or entry[0]() is not ids:
            return None
        return entry[1]
