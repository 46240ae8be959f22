"""The papers a filter allows, kept for recent filters and patched when the lexical index changes (issue 13).

A filtered semantic search restricts the vector index to the papers passing the filter
(cat:, since:, until:, author:, phrases). The lexical index finds them, but its Python binding
hands back ids at about half a microsecond each: a broad filter over a million papers (cat:cs
may pass 600,000) costs 0.4 s, fifteen times a search (categories and dates alone are read from
the database's indexes instead, about three times cheaper: database_filter.py, which says why
patching stays exact for them). Like Lucene's query cache, the sorted id array of each recent
filter is kept, keyed by the filter's text.

When the index loads a new commit, a kept array is not dropped but patched: the papers changed
since it was made (``papers.seq`` above the seq it was made at: search/changes.py) are asked
whether they pass the filter now, and are taken out or put in. A paper whose seq is not above
that seq was already indexed as it is now, so nothing else can have changed (papers are never
deleted). A commit of a rebuild from another database, an index gone back to an older seq, or
more changes than patching saves over reading the filter again, make the array anew instead.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Ids = npt.NDArray[np.int64]
# Asking the index about one changed paper costs about 16 ids read (lexical/read.py: keep_matching).
PATCH_COST_IN_IDS = 16
# At most this many changed papers are asked about in one patch.
PATCH_LIMIT = 5000


@dataclass(frozen=True, slots=True)
class IndexState:
    """Which commit of the lexical index an answer comes from: patching needs the same ``lineage``."""

    generation: Hashable
    # The database the index was built from: seqs of two databases say nothing about each other.
    lineage: Hashable = None
    # Every paper changed at or below this seq was indexed as it is.
    seq: int = -1


@dataclass(frozen=True, slots=True)
class _Entry:
    ids: Ids
    state: IndexState


# (kept ids, the seq they were made at) -> patched ids, or None when reading the filter again is cheaper.
Patch = Callable[[Ids, int], Ids | None]


def patch_limit(kept: int) -> int:
    """How many changed papers are worth asking about to keep an array of ``kept`` ids."""
    return min(PATCH_LIMIT, kept // PATCH_COST_IN_IDS)


def apply_changes(ids: Ids, changed: Ids, passing: Ids) -> Ids:
    """``ids`` (sorted) less the ``changed`` papers, plus those of them ``passing`` the filter now; sorted.

    With nothing changed, ``ids`` itself: the snapshot's bitmap of it (semantic/bitmaps.py) stays good.
    """
    if not len(changed) and not len(passing):
        return ids
    changed = np.unique(changed)
    if len(ids) and len(changed):
        positions = np.minimum(np.searchsorted(ids, changed), len(ids) - 1)
        ids = np.delete(ids, positions[ids[positions] == changed])
    added = np.unique(passing)
    return np.insert(ids, np.searchsorted(ids, added), added)


class AllowedCache:
    """Sorted id arrays of recent filters, bounded by entries and by ids held in all."""

    def __init__(self, max_entries: int = 64, max_ids: int = 4_000_000) -> None:
        self.max_entries = max_entries
        self.max_ids = max_ids
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        # Searches of each recent filter answered without its ids (nearest first), see ``rent``.
        self._rented: OrderedDict[str, int] = OrderedDict()
        self._held = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0
        self.patches = 0

    def fetch(self, key: str | None, state: IndexState, compute: Callable[[], Ids], patch: Patch | None = None) -> Ids:
        """The ids for filter ``key`` as of index ``state``; kept ones are patched, else ``compute`` runs.

        ``key`` None: never kept. ``patch`` (see Patch) brings kept ids up to ``state``.
        """
        with self._lock:
            found = self._entries.get(key) if key is not None else None
            if found is not None:
                self._entries.move_to_end(key)  # type: ignore[arg-type]
                if found.state.generation == state.generation:
                    self.hits += 1
                    return found.ids
        ids = None
        if found is not None and patch is not None and _patchable(found.state, state):
            ids = patch(found.ids, found.state.seq)
        if ids is None:
            ids = compute()
            self.misses += 1
        else:
            self.patches += 1
        ids.flags.writeable = False  # shared between threads, and the snapshot's bitmaps know it by identity
        if key is None or len(ids) > self.max_ids:
            return ids
        with self._lock:
            self._rented.pop(key, None)
            dropped = self._entries.pop(key, None)
            self._held -= len(dropped.ids) if dropped is not None else 0
            self._entries[key] = _Entry(ids, state)
            self._held += len(ids)
            while len(self._entries) > self.max_entries or self._held > self.max_ids:
                _, dropped = self._entries.popitem(last=False)
                self._held -= len(dropped.ids)
        return ids

    def holds(self, key: str | None) -> bool:
        """Whether ids of filter ``key`` are kept (of any index state: ``fetch`` patches them if need be)."""
        with self._lock:
            return key is not None and key in self._entries

    def peek(self, key: str | None, generation: Hashable) -> Ids | None:
        """The kept ids of filter ``key`` if they are of index commit ``generation``; None otherwise, nothing read.

        Hybrid's word side checks the unfiltered ranking against them (lexical/broad.py).
        """
        with self._lock:
            found = self._entries.get(key) if key is not None else None
        return found.ids if found is not None and found.state.generation == generation else None

    def rent(self, key: str, allowance: float) -> bool:
        """Count one more search of filter ``key`` answered without its ids; False once ``allowance`` are spent.

        A broad filter is searched nearest first (search/nearest_first.py) until that has cost
        about what reading its ids once costs (semantic/filtered.py ``uses_before_reading``); the
        caller then reads and keeps them, and ``fetch`` forgets the count.
        """
        with self._lock:
            used = self._rented.pop(key, 0) + 1
            self._rented[key] = used
            while len(self._rented) > self.max_entries:
                self._rented.popitem(last=False)
            return used <= allowance

    def clear(self) -> None:
        """Forget every entry and count (bench/search.py times filters cold this way)."""
        with self._lock:
            self._entries.clear()
            self._rented.clear()
            self._held = 0


def _patchable(kept: IndexState, now: IndexState) -> bool:
    return kept.lineage is not None and kept.lineage == now.lineage and 0 <= kept.seq <= now.seq
