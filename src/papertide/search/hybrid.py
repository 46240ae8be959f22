"""Hybrid search's two sides brought together: the word side's run and the fusion, floor and total (issue 13).

search/query.py runs the word side (BM25) on a worker thread beside the meaning side
(search/beside.py); what each side found meets here. The word side's explain line and ranking
are kept apart until the meaning side is done, then added after its own, so explain lines and
each hit's details read as they did when the sides ran one after the other (semantic first).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from papertide.search.fusion import fuse_words_and_meaning
from papertide.search.lexical.index import LexicalIndex
from papertide.search.lexical.plan import LexicalPlan
from papertide.search.ranked import Ranked
from papertide.search.request import SearchOptions


@dataclass(frozen=True, slots=True)
class LexicalRun:
    """What the word side found: its ranking, the match count, whether exact, its explain line and source."""

    ranked: Ranked
    total: int
    exact: bool
    explain: list[str]
    sources: list[tuple[str, Ranked]]


class SemanticSide(Protocol):
    """What the meaning side found (query.py's run)."""

    @property
    def ranked(self) -> Ranked:
        """The nearest ``depth`` papers, best first, whatever their similarity."""

    @property
    def above(self) -> Ranked:
        """Every paper read at or above the similarity floor, best first."""

    @property
    def complete(self) -> bool:
        """Whether ``above`` holds every paper above the floor."""


def fuse_sides(
    semantic: SemanticSide,
    words: LexicalRun,
    *,
    plan: LexicalPlan,
    depth: int,
    keep: int,
    options: SearchOptions,
    lexical: LexicalIndex,
    explain: list[str],
) -> tuple[Ranked, int, bool]:
    """Fuse the two rankings, drop papers found by meaning only below the similarity floor; the best ``keep``.

    Dropping after fusion leaves the order of everything else as it was (min-max
    normalisation sees the same lists), so the floor can only remove results. The total is
    the word matches plus the papers above the floor that match no query word (``lexical``
    is asked which of those match beyond the fused depth).
    """
    by_words, words_total = words.ranked, words.total
    weights = (options.lexical_weight, options.semantic_weight)
    fused, kept = fuse_words_and_meaning(
        by_words,
        semantic.ranked,
        fusion=options.fusion,
        weights=weights,
        rrf_k=options.fusion_k,
        floor=options.similarity_floor,
    )
    if options.fusion == "convex":
        explain.append(f"fusion: convex combination of min-max scores, weights {weights[0]:g}/{weights[1]:g}")
    else:
        explain.append(
            f"fusion: reciprocal rank, k={options.fusion_k:g}, weights {weights[0]:g}/{weights[1]:g}, "
            f"depth {depth} -> {len(fused)} papers"
        )
    floor = options.similarity_floor
    if len(kept) < len(fused):
        explain.append(f"floor: dropped {len(fused) - len(kept)} found by meaning only below {floor:g}")
    ranked = kept.top(keep)
    if not words.exact or not semantic.complete:
        return ranked, max(words_total, len(semantic.above), len(kept)), False
    above_by_words = np.isin(semantic.above.ids, by_words.ids)
    unknown = semantic.above.ids[~above_by_words]
    if words_total > len(by_words) and len(unknown) and plan.ranked is not None:
        # Word matches beyond the fused depth: ask the index which of the others match too.
        matching = lexical.keep_matching(plan.ranked, unknown.tolist())
        meaning_only = len(unknown) - len(matching & set(unknown.tolist()))
    else:
        meaning_only = len(unknown)
    return ranked, words_total + meaning_only, True
