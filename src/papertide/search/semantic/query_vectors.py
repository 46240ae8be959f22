"""Recently embedded queries, so a repeated query (its next page, its feed) does not run the model again.

Embedding a query is the largest block of a plain hybrid search (issue 13: 1.6 ms of 7.3 ms at
a million papers), and a person paging through results or a feed reader polling a query asks
for the same text again. A small LRU keyed by the model and the text keeps those vectors; a
different model or backend gives a different key, so a vector is never used across models.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from papertide.search.semantic.passages import Vectors

Key = tuple[str, str, str]


class QueryVectorCache:
    """At most ``size`` query vectors, least recently used dropped first; 0 keeps none."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._vectors: OrderedDict[Key, Vectors] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._vectors)

    def get(self, key: Key) -> Vectors | None:
        """The vector kept for ``key``, or None."""
        with self._lock:
            vector = self._vectors.get(key)
            if vector is not None:
                self._vectors.move_to_end(key)
            return vector

    def put(self, key: Key, vector: Vectors) -> None:
        """Keep ``vector`` (read-only: callers share it) for ``key``."""
        if self.size <= 0:
            return
        vector.flags.writeable = False
        with self._lock:
            self._vectors[key] = vector
            self._vectors.move_to_end(key)
            while len(self._vectors) > self.size:
                self._vectors.popitem(last=False)

    def clear(self) -> None:
        """Forget every vector."""
        with self._lock:
            self._vectors.clear()
