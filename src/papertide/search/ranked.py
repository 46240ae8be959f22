"""A ranking as two numpy arrays: paper ids and their scores, best first (issue 13).

The vector index reads up to a thousand neighbours per query; turning each into a Python
tuple, then a Hit, then a dict entry cost more than the search itself (profiled: about a third
of plain hybrid's time beyond its building blocks). Rankings therefore stay arrays from the
vector index through fusion (search/fusion.py), and only the returned page becomes objects.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from papertide.domain.models import Hit

IdArray = npt.NDArray[np.int64]
ScoreArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Ranked:
    """Paper ids with their scores, best first; ``scores`` are float64 (exact copies of float32 ones)."""

    ids: IdArray
    scores: ScoreArray

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def empty(cls) -> Ranked:
        """No papers."""
        return cls(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64))

    @classmethod
    def of(cls, ids: npt.ArrayLike, scores: npt.ArrayLike) -> Ranked:
        """A ranking of these arrays (copied only when their type differs)."""
        return cls(np.asarray(ids, dtype=np.int64).reshape(-1), np.asarray(scores, dtype=np.float64).reshape(-1))

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[int, float]]) -> Ranked:
        """A ranking of ``(id, score)`` pairs, in their order."""
        listed = list(pairs)
        if not listed:
            return cls.empty()
        ids, scores = zip(*listed, strict=True)
        return cls(np.array(ids, dtype=np.int64), np.array(scores, dtype=np.float64))

    def head(self, count: int) -> Ranked:
        """The first ``count`` entries (views, no copy)."""
        return Ranked(self.ids[:count], self.scores[:count])

    def slice(self, start: int, stop: int) -> Ranked:
        """Entries ``start`` to ``stop`` (views, no copy)."""
        return Ranked(self.ids[start:stop], self.scores[start:stop])

    def where(self, mask: npt.NDArray[np.bool_]) -> Ranked:
        """The entries where ``mask`` is true, in order."""
        return Ranked(self.ids[mask], self.scores[mask])

    def pairs(self) -> list[tuple[int, float]]:
        """The ranking as ``(id, score)`` pairs (converted in C by ``tolist``)."""
        return list(zip(self.ids.tolist(), self.scores.tolist(), strict=True))

    def positions(self, paper_ids: IdArray) -> npt.NDArray[np.int64]:
        """The 0-based position of each of ``paper_ids`` in this ranking (its first occurrence), -1 where absent."""
        found = np.full(len(paper_ids), -1, dtype=np.int64)
        if not len(self.ids) or not len(paper_ids):
            return found
        order = np.argsort(self.ids, kind="stable")
        sorted_ids = self.ids[order]
        at = np.searchsorted(sorted_ids, paper_ids)
        inside = at < len(sorted_ids)
        hit = np.zeros(len(paper_ids), dtype=bool)
        hit[inside] = sorted_ids[at[inside]] == paper_ids[inside]
        found[hit] = order[at[hit]]
        return found


def sort_best_first(ranked: Ranked) -> Ranked:
    """The entries by score, best first, equal scores by id (how every index orders its neighbours)."""
    order = np.lexsort((ranked.ids, -ranked.scores))
    return Ranked(ranked.ids[order], ranked.scores[order])


def describe_hits(window: Ranked, sources: list[tuple[str, Ranked]]) -> list[Hit]:
    """The page's hits, each with its rank and score in every ranking that found it (``lexical_rank``, ...).

    Only the page becomes objects: the rankings behind it stay arrays (issue 13).
    """
    details: list[dict[str, float]] = [{} for _ in range(len(window))]
    for name, ranking in sources:
        at = ranking.positions(window.ids)
        for detail, position in zip(details, at.tolist(), strict=True):
            if position >= 0:
                detail[f"{name}_rank"] = position + 1
                detail[f"{name}_score"] = float(ranking.scores[position])
    return [
        Hit(paper_id=paper_id, score=score, detail=detail)
        for (paper_id, score), detail in zip(window.pairs(), details, strict=True)
    ]
