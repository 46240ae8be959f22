"""A tantivy filter that lets through exactly a given set of papers, cheap to run many times (issue 13).

A digest run matches thousands of topics among the same candidates: the papers listed in the
last days, a few thousand ids that are nearly consecutive (ids grow as papers arrive). A
term-set query over the id field costs a walk of the id dictionary on every search (1.5 ms
among 3,000 papers, about 40 ms among a million, measured) and a copy of the set each time it
is combined into a query. Ranges of the id's fast field cost a fraction of that: the ids are
cut into a few dense runs, each run is one range, and the few ids that break a run (papers in
it that are not candidates) are excluded by name. Scattered ids, which no few ranges cover,
keep the term-set query. Either way the filter scores 0 and matches the same documents, so
the ranking of the query it restricts is unchanged.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from itertools import pairwise

import tantivy

from papertide.search.lexical.analyzer import FIELD_PAPER_ID

# A gap of more than this many ids between two candidates starts a new run.
MAX_GAP = 32
# Ranges scanned per search at most, each of at least MIN_RUN candidates; smaller runs are named id by id.
MAX_RANGES = 4
MIN_RUN = 16
# Ids named one by one (outside the ranges, or inside them and not candidates) at most.
MAX_NAMED = 256


@dataclass(frozen=True, slots=True)
class IdCover:
    """The candidates as ranges of ids, plus the ids named apart: ``ranges`` + ``extra`` - ``holes``."""

    ranges: tuple[tuple[int, int], ...]
    extra: tuple[int, ...]
    holes: tuple[int, ...]


def cover_ids(paper_ids: Collection[int]) -> IdCover | None:
    """Few ranges covering ``paper_ids``, with their exceptions; None when no such cover is small."""
    ids = sorted(set(paper_ids))
    if not ids:
        return None
    runs: list[list[int]] = [[ids[0]]]
    for previous, current in pairwise(ids):
        if current - previous > MAX_GAP:
            runs.append([])
        runs[-1].append(current)
    # The largest runs become ranges; the ids of the others are named.
    by_size = sorted(runs, key=len, reverse=True)
    ranged = [run for run in by_size[:MAX_RANGES] if len(run) >= MIN_RUN]
    named = by_size[len(ranged) :]
    extra = sorted(i for run in named for i in run)
    holes: list[int] = []
    for run in ranged:
        inside = set(run)
        holes.extend(i for i in range(run[0], run[-1] + 1) if i not in inside)
    if len(extra) + len(holes) > MAX_NAMED:
        return None
    return IdCover(tuple(sorted((run[0], run[-1]) for run in ranged)), tuple(extra), tuple(sorted(holes)))


def _named(schema: tantivy.Schema, paper_ids: tuple[int, ...]) -> list[tantivy.Query]:
    # One term query per id: each is one dictionary lookup, where a term set walks the dictionary.
    return [tantivy.Query.term_query(schema, FIELD_PAPER_ID, i) for i in paper_ids]


def candidate_filter(schema: tantivy.Schema, paper_ids: Collection[int]) -> tantivy.Query:
    """A query scoring 0 that matches exactly the papers ``paper_ids`` (restrict a ranked query with Must)."""
    cover = cover_ids(paper_ids)
    if cover is None:
        every = tantivy.Query.term_set_query(schema, FIELD_PAPER_ID, sorted(paper_ids))
        return tantivy.Query.const_score_query(every, 0.0)
    allowed = [
        tantivy.Query.range_query(
            schema,
            FIELD_PAPER_ID,
            tantivy.FieldType.Integer,
            lower_bound=low,
            upper_bound=high,
            use_inverted_index=False,
        )
        for low, high in cover.ranges
    ]
    allowed += _named(schema, cover.extra)
    clauses = [(tantivy.Occur.Should, query) for query in allowed]
    clauses += [(tantivy.Occur.MustNot, query) for query in _named(schema, cover.holes)]
    return tantivy.Query.const_score_query(tantivy.Query.boolean_query(clauses), 0.0)
