"""A broad filter's word side read from the unfiltered BM25 ranking (issue 13).

With the filter as a clause, tantivy walks the filter's postings beside the words' and skips no
block: cat:cs.LG (58.7 % of 1 M papers) cost 12-15 ms of CPU against 4-6 for the same words
unfiltered (docs/search.md). The filter clause scores 0, so the filtered ranking is the unfiltered
one with the papers that fail the filter taken out: the same scores, and equal scores in the same
order (tantivy orders them by document address with or without the filter, block-max WAND
included: tests/search/test_broad_words.py). For a filter passing a large share of the papers,
the unfiltered top ``depth x MARGIN / share`` are read and checked against the filter's kept ids,
or on its first use against the vector snapshot's days and categories (``BroadFilter``, search/
word_side.py).

The match count is kept as the filtered query gives it where the page can show it: below
``max_results + 1`` matches it is exact, above it the page says "at least max_results" either way
(search/query.py caps it), so a lower bound past ``max_results`` is all that is needed. The
prefix's passing papers are one; else the matches of the most frequent query word among the
newest allowed papers (an id range of the fast field: 2 ms where the whole count costs 12), counted
by the filtered query itself: the filter only sizes the range (kept ids exactly, the snapshot by
its highest ids and the estimated share).
Whenever the prefix cannot answer (fewer than ``depth`` pass, or no bound reaches past
``max_results``), None: the caller runs the filtered query, so results never depend on the share.
"""

from __future__ import annotations

import math
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import tantivy

from papertide.search.lexical.plan import LexicalPlan
from papertide.search.lexical.read import LexicalReader
from papertide.search.ranked import Ranked

# Read this many times the hits the share predicts, so that a query whose words lean away from
# the filter a little still finds ``depth`` passing ones.
MARGIN = 1.25
# At most this many times ``depth`` are read unfiltered: a share of at least MARGIN / 4 (31 %). At
# 1 M papers the unfiltered read costs about 5 ms + 3 us a hit, the filtered query 12-15 ms for
# cat:cs.LG (58.7 %) and cat:cs (90 %), 10-11 for since (17.8 %, where 1,350 would be read at depth 200).
MAX_READ_FACTOR = 4
# The id range is sized for this many times the matches the bound must pass (words independent of ids).
SLICE_SAFETY = 3


@dataclass(frozen=True, slots=True)
class BroadWords:
    """The filtered ranking's top ``depth``, its count (a lower bound when not ``exact``) and how it was read."""

    ranked: Ranked
    total: int
    exact: bool
    how: str


def unfiltered_read(depth: int, allowed: int, papers: int) -> int | None:
    """How many unfiltered hits to read for ``depth`` passing ones; None when the filter is too narrow."""
    if depth <= 0 or allowed <= 0 or papers <= 0:
        return None
    read = math.ceil(depth * MARGIN * papers / allowed)
    return read if read <= MAX_READ_FACTOR * depth else None


def passes(allowed: npt.NDArray[np.int64], ids: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
    """Which of ``ids`` are in the sorted ``allowed``."""
    if not len(allowed):
        return np.zeros(len(ids), dtype=np.bool_)
    positions = np.minimum(np.searchsorted(allowed, ids), len(allowed) - 1)
    return np.asarray(allowed[positions] == ids)


class Membership:
    """Bit sets of the last few kept id arrays, found again by identity: which hits pass, one memory read each.

    A binary search of cat:cs.LG's 587,000 kept ids (4.7 MB), just pushed out of the cache by the
    tantivy search, cost 0.5 ms for 427 hits; a bit per paper (125 KB at 1 M) 0.05 ms (1 M, issue 13).
    Only read-only arrays are kept (search/allowed.py hands them out so; a writable one could change
    in place), held weakly: an entry dies with the kept ids, and a new array at the same address is
    told apart by the weak reference.
    """

    def __init__(self, entries: int = 8) -> None:
        self.entries = entries
        self._kept: OrderedDict[int, tuple[weakref.ref[npt.NDArray[np.int64]], npt.NDArray[np.uint8]]] = OrderedDict()
        self._lock = threading.Lock()

    def passes(self, allowed: npt.NDArray[np.int64], ids: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
        """Which of ``ids`` (not negative) are in the sorted ``allowed``."""
        if allowed.flags.writeable or not len(allowed):
            return passes(allowed, ids)
        bits = self._bits(allowed)
        found = np.zeros(len(ids), dtype=np.bool_)
        inside = ids < len(bits) * 8
        within = ids[inside]
        found[inside] = (bits[within >> 3] >> (within & 7).astype(np.uint8)) & 1
        return found

    def _bits(self, allowed: npt.NDArray[np.int64]) -> npt.NDArray[np.uint8]:
        key = id(allowed)
        with self._lock:
            entry = self._kept.get(key)
            if entry is not None and entry[0]() is allowed:
                self._kept.move_to_end(key)
                return entry[1]
        flags = np.zeros(int(allowed[-1]) + 1, dtype=np.bool_)
        flags[allowed] = True
        bits = np.packbits(flags, bitorder="little")
        with self._lock:
            self._kept[key] = (weakref.ref(allowed), bits)
            self._kept.move_to_end(key)
            while len(self._kept) > self.entries:
                self._kept.popitem(last=False)
        return bits


@dataclass(frozen=True, slots=True)
class BroadFilter:
    """What the unfiltered ranking is checked against: how many papers pass, which do, and where the newest lie.

    Kept ids give all three exactly (``kept_filter``); a first use's snapshot check (search/
    word_side.py) an estimated count, the snapshot's answer, and an id range sized by the estimate.
    The estimate only sizes reads: the count's bound is the filtered query's own count in the range.
    """

    # How many papers pass (exact, or an estimate).
    allowed: int
    # Which of the given ids (not negative, any order) pass.
    passes: Callable[[npt.NDArray[np.int64]], npt.NDArray[np.bool_]]
    # An id range holding about ``size`` of the newest passing papers; None when not worth counting.
    newest: Callable[[int], tuple[int, int] | None]
    # For the explain line: where the hits were checked.
    where: str = ""


def kept_filter(allowed: npt.NDArray[np.int64], membership: Membership | None = None) -> BroadFilter:
    """A filter of kept sorted ids ``allowed``; ``membership`` keeps a bit set of them across searches."""

    def check(ids: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
        return passes(allowed, ids) if membership is None else membership.passes(allowed, ids)

    def newest(size: int) -> tuple[int, int] | None:
        # Past half the allowed papers the range costs about what the filtered count does.
        return None if 2 * size > len(allowed) else (int(allowed[-size]), int(allowed[-1]))

    return BroadFilter(len(allowed), check, newest)


def rank_broad_words(
    reader: LexicalReader,
    plan: LexicalPlan,
    allowed: BroadFilter,
    papers: int,
    depth: int,
    max_results: int,
) -> BroadWords | None:
    """The filtered query's top ``depth`` and count from the unfiltered ranking, or None (run the filtered query).

    ``allowed``: the papers passing ``plan.required`` (kept ids read at the searcher's commit, or
    the snapshot's check).
    """
    if plan.words is None or plan.required is None:
        return None
    read = unfiltered_read(depth, allowed.allowed, papers)
    if read is None:
        return None
    found, every = reader.ranked_prefix(plan.words, read)
    passing = found.where(allowed.passes(found.ids))
    how = f"the unfiltered top {read}, {len(passing)} pass{allowed.where}"
    if every:
        # Every match was read: the passing ones are every filtered match.
        return BroadWords(passing.head(depth), len(passing), True, how)
    if len(passing) < depth:
        return None
    if len(passing) <= max_results:
        bound = count_newest(reader, plan, allowed, papers, max_results)
        if bound is None or bound <= max_results:
            return None
        how += f", at least {bound} among the newest allowed"
    return BroadWords(passing.head(depth), max_results, False, how)


def count_newest(
    reader: LexicalReader, plan: LexicalPlan, allowed: BroadFilter, papers: int, max_results: int
) -> int | None:
    """Filtered matches of the most frequent query word among the newest allowed papers: a lower bound.

    Counted by the filtered query itself in an id range, so the range's size is all the filter
    decides. None when ``allowed`` finds the range not worth it (no cheaper than the filtered count).
    """
    field, term, frequency = reader.most_frequent_term(plan.terms)
    if frequency <= 0 or plan.required is None:
        return None
    span = allowed.newest(math.ceil(SLICE_SAFETY * (max_results + 1) * papers / frequency))
    if span is None:
        return None
    word = tantivy.Query.term_query(reader.schema, field, term)
    query = tantivy.Query.boolean_query([(tantivy.Occur.Must, word), (tantivy.Occur.Must, plan.required)])
    return reader.count_between(query, *span)
