"""Choosing the similarity floor from judged queries (``papertide eval --calibrate-floor``).

Hybrid search drops papers found by meaning only whose cosine similarity to the query is
below a floor (search/query.py). Cosine scales differ from model to model, so the floor is
measured, not guessed: every judged query is searched once with no floor, and for each floor
on a grid the ranking the floor would leave is scored. The floor chosen is the highest one up
to which every floor of the grid keeps (a) nDCG@10 not lower than without a floor and (b) the
relevant documents it removes from the results (found by meaning only, similarity below it) at
most ``max_relevant_removed`` of all relevant documents: relevant papers are rare among what it
removes; and (c) the relevant documents whose similarity is below it at most
``max_relevant_below`` of all relevant documents, because meaning-only search (mode
``semantic``) holds every hit to the floor, so those are what that mode loses.

Run it on training queries only (SciFact ``qrels/train.tsv``); report the effect on held-out ones.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from papertide.search.evaluate import score_ndcg

# Floors tried: 0.00, 0.01, ... 0.80.
GRID = tuple(round(step / 100, 2) for step in range(0, 81))
# Share of the relevant documents the floor may remove from the results.
MAX_RELEVANT_REMOVED = 0.01
# Share of the relevant documents below the floor, i.e. lost by meaning-only search.
MAX_RELEVANT_BELOW = 0.035
# nDCG@10 differences smaller than this are rounding, not a drop.
TOLERANCE = 1e-9


@dataclass(frozen=True, slots=True)
class RankedDoc:
    """One result of a search run with no floor."""

    doc: str
    # Found by words (BM25): the floor never removes it.
    by_words: bool
    # Cosine similarity to the query; None when the semantic side did not rank it.
    similarity: float | None


@dataclass(frozen=True, slots=True)
class Observation:
    """One judged query: its unfloored ranking, its judgments, the similarity of each relevant document."""

    ranking: tuple[RankedDoc, ...]
    relevance: Mapping[str, int]
    relevant_similarities: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class FloorRow:
    """What one floor does to the judged queries."""

    floor: float
    ndcg_at_10: float
    # Share of all relevant documents whose similarity to their query is below the floor.
    relevant_below: float
    # Share of all relevant documents the floor removes from the results read.
    relevant_removed: float
    # Mean results per query the floor leaves (of the page read).
    kept_per_query: float


@dataclass(frozen=True, slots=True)
class Calibration:
    """The rows of the grid, the floor chosen and the nDCG@10 with no floor."""

    rows: tuple[FloorRow, ...]
    chosen: float
    baseline_ndcg: float
    max_relevant_removed: float


def apply_floor(ranking: Sequence[RankedDoc], floor: float) -> list[str]:
    """The ranking search returns with this floor: meaning-only results below it are gone."""
    return [item.doc for item in ranking if item.by_words or (item.similarity is not None and item.similarity >= floor)]


def score_floor(observations: Sequence[Observation], floor: float) -> FloorRow:
    """Mean nDCG@10, share of relevant documents below the floor and results kept, at one floor."""
    count = max(len(observations), 1)
    ndcg = kept = 0.0
    relevant = below = removed = 0
    for observation in observations:
        ranked = apply_floor(observation.ranking, floor)
        ndcg += score_ndcg(ranked, observation.relevance, 10)
        kept += len(ranked)
        relevant += len(observation.relevant_similarities)
        below += sum(1 for similarity in observation.relevant_similarities if similarity < floor)
        left = set(ranked)
        removed += sum(
            1 for item in observation.ranking if item.doc not in left and observation.relevance.get(item.doc, 0) > 0
        )
    return FloorRow(
        floor=floor,
        ndcg_at_10=ndcg / count,
        relevant_below=below / max(relevant, 1),
        relevant_removed=removed / max(relevant, 1),
        kept_per_query=kept / count,
    )


def calibrate_floor(
    observations: Sequence[Observation],
    grid: Sequence[float] = GRID,
    max_relevant_removed: float = MAX_RELEVANT_REMOVED,
    max_relevant_below: float = MAX_RELEVANT_BELOW,
) -> Calibration:
    """Score every floor of the grid; choose the highest up to which every floor keeps nDCG@10 and the relevant."""
    baseline = score_floor(observations, -1.0).ndcg_at_10
    rows = tuple(score_floor(observations, floor) for floor in sorted(grid))
    chosen = rows[0].floor
    for row in rows:
        # The first floor that costs nDCG@10 or too many relevant documents ends the search.
        if (
            row.ndcg_at_10 < baseline - TOLERANCE
            or row.relevant_removed > max_relevant_removed
            or row.relevant_below > max_relevant_below
        ):
            break
        chosen = row.floor
    return Calibration(
        rows=rows,
        chosen=chosen,
        baseline_ndcg=baseline,
        max_relevant_removed=max_relevant_removed,
    )
