"""The papers a filter allows, kept for recent filters until the lexical index changes (issue 13).

A filtered semantic search restricts the vector index to the papers passing the filter
(cat:, since:, until:, author:, phrases). The lexical index finds them, but its Python binding
hands back ids at about half a microsecond each: a broad filter over a million papers (cat:cs
may pass 400,000) would cost more than the search. Like Lucene's query cache, the sorted id
array of each recent filter is kept, keyed by the filter's text, and everything is dropped
when the index commits anything new, so a cached answer is never stale.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

import numpy as np
import numpy.typing as npt

Ids = npt.NDArray[np.int64]


class AllowedCache:
    """Sorted id arrays of recent filters, bounded by entries and by ids held in all."""

    def __init__(self, max_entries: int = 64, max_ids: int = 4_000_000) -> None:
        self.max_entries = max_entries
        self.max_ids = max_ids
        self._entries: OrderedDict[str, Ids] = OrderedDict()
        self._held = 0
        self._generation: Hashable = None
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def fetch(self, key: str | None, generation: Hashable, compute: Callable[[], Ids]) -> Ids:
        """The ids for filter ``key`` as of index ``generation``; ``compute`` runs on a miss (None: never kept)."""
        with self._lock:
            if generation != self._generation:
                self._entries.clear()
                self._held = 0
                self._generation = generation
            found = self._entries.get(key) if key is not None else None
            if found is not None:
                self._entries.move_to_end(key)  # type: ignore[arg-type]
                self.hits += 1
                return found
            self.misses += 1
        ids = compute()
        ids.flags.writeable = False  # shared between threads
        if key is None or len(ids) > self.max_ids:
            return ids
        with self._lock:
            if generation != self._generation or key in self._entries:
                return ids
            self._entries[key] = ids
            self._held += len(ids)
            while len(self._entries) > self.max_entries or self._held > self.max_ids:
                _, dropped = self._entries.popitem(last=False)
                self._held -= len(dropped)
        return ids

    def clear(self) -> None:
        """Forget every entry (bench/search.py times filters cold this way)."""
        with self._lock:
            self._entries.clear()
            self._held = 0
