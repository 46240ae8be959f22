"""A deterministic bag-of-words embedder: the Embedder protocol without a neural model.

It lets the vector plumbing (storage, staleness, index, snapshots) be tested in milliseconds;
tests of relevance use the real model (test_embedder.py, test_semantic.py).
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Sequence

import numpy as np

from papertide.search.semantic.passages import Vectors, normalize_rows

_WORD = re.compile(r"\w+")


class HashingEmbedder:
    """Each word adds one to a hashed coordinate; rows are normalised."""

    backend = "test"
    max_tokens = 256

    def __init__(self, name: str = "test/hashing", dim: int = 64) -> None:
        self.name = name
        self.dim = dim
        self.embedded = 0
        # Calls of embed_query: what the query-vector cache saves (test_semantic.py).
        self.queries = 0

    def _vector(self, text: str) -> Vectors:
        row = np.zeros(self.dim, dtype=np.float32)
        for word in _WORD.findall(text.lower()):
            row[zlib.crc32(word.encode()) % self.dim] += 1.0
        return row

    def embed_documents(
        self, texts: Sequence[str], batch_size: int = 32, on_progress: Callable[[int], None] | None = None
    ) -> Vectors:
        self.embedded += len(texts)
        if on_progress:
            on_progress(len(texts))
        return normalize_rows(np.stack([self._vector(t) for t in texts]) if texts else np.zeros((0, self.dim)))

    def embed_query(self, text: str) -> Vectors:
        self.queries += 1
        vector: Vectors = normalize_rows(self._vector(text)[None, :])[0]
        return vector

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [len(_WORD.findall(text)) for text in texts]
