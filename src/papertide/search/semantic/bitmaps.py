"""The admitted bitmaps of recent filters over one snapshot, so a repeated filter does not build its own again.

A filtered search admits the snapshot rows of the filter's papers less the rows hidden since
(admitted.py). At a million rows, looking up those rows, marking them and packing the mask cost
10 ms for a filter passing 600,000 papers: four times its graph walk (bench/filter_profile.py,
issue 13). The filter's ids come from search/allowed.py, which hands back the same read-only
array for as long as the lexical index is unchanged; so the bitmap is kept for that array object
and those hidden rows, and found again by identity, never by comparing a million ids.

Only what cannot change is kept: a candidate array marked read-only (a writable one could be
changed in place between two searches) and a read-only array of hidden rows (the replica makes a
new one when more rows are hidden). The candidate array is held weakly, so an entry dies with the
allowed-id cache's answer; a new array at the same address is told apart by the weak reference.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from papertide.search.semantic.admitted import Admitted


@dataclass(frozen=True, slots=True)
class _Entry:
    candidates: weakref.ref[np.ndarray[Any, Any]] | None
    hidden: np.ndarray[Any, Any]
    admitted: Admitted


def _unchanging(array: np.ndarray[Any, Any]) -> bool:
    return not array.flags.writeable


class AdmittedBitmaps:
    """Bitmaps of the last ``entries`` (candidates, hidden rows) pairs searched in one unchanging snapshot."""

    def __init__(self, entries: int = 16) -> None:
        self.entries = entries
        self._kept: OrderedDict[tuple[int, int], _Entry] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0

    def fetch(self, candidates: object, hidden: np.ndarray[Any, Any], compute: Callable[[], Admitted]) -> Admitted:
        """The bitmap admitting ``candidates`` (None: every live row) less ``hidden``; ``compute`` makes it anew."""
        if candidates is not None and not (isinstance(candidates, np.ndarray) and _unchanging(candidates)):
            return compute()
        if not _unchanging(hidden):
            return compute()
        key = (id(candidates), id(hidden))
        with self._lock:
            entry = self._kept.get(key)
            if entry is not None and entry.hidden is hidden and _same(entry.candidates, candidates):
                self._kept.move_to_end(key)
                self.hits += 1
                return entry.admitted
        admitted = compute()
        reference = None if candidates is None else weakref.ref(candidates)
        with self._lock:
            self._kept[key] = _Entry(reference, hidden, admitted)
            self._kept.move_to_end(key)
            while len(self._kept) > self.entries:
                self._kept.popitem(last=False)
        return admitted


def _same(reference: weakref.ref[np.ndarray[Any, Any]] | None, candidates: object) -> bool:
    return candidates is None if reference is None else reference() is candidates
