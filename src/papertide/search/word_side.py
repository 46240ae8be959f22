"""The word side of a search: BM25's top ``depth`` and how many papers match (lexical and hybrid modes).

Counting every match defeats tantivy's block skipping, so it is skipped when it cannot change the
page: without a filter, when one query word alone is in ``max_results`` papers; with a broad
filter whose ids are kept (search/allowed.py), the ranking and a lower bound of the count come
from the unfiltered ranking (lexical/broad.py). Anything else runs the filtered query with its count.
"""

from __future__ import annotations

import time

from papertide.search.allowed import AllowedCache
from papertide.search.hybrid import LexicalRun
from papertide.search.lexical.broad import BroadWords, Membership, rank_broad_words
from papertide.search.lexical.index import LexicalIndex
from papertide.search.lexical.plan import LexicalPlan
from papertide.search.ranked import Ranked


def run_words(
    lexical: LexicalIndex,
    cache: AllowedCache,
    plan: LexicalPlan,
    depth: int,
    max_results: int,
    membership: Membership | None = None,
) -> LexicalRun:
    """BM25 top ``depth`` and how many match (exact unless at least ``max_results``), with its explain line."""
    if plan.ranked is None:
        return LexicalRun(Ranked.empty(), 0, True, ["lexical: the words are all stop words; nothing to match"], [])
    start = time.perf_counter()
    broad = read_broad(lexical, cache, plan, depth, max_results, membership)
    if broad is not None:
        ranked, total, exact, how = broad.ranked, broad.total, broad.exact, f" of {broad.how}"
    else:
        at_least = lexical.most_frequent(plan.terms) if plan.required is None else 0
        exact = at_least < max_results
        ranked, total = lexical.search_counted(plan.ranked, depth, count=exact)
        total, how = total if exact else max_results, ""
    matched = f"{total} match" if exact else f"at least {total} match"
    took = f"{(time.perf_counter() - start) * 1000:.1f} ms"
    explain = [f"lexical: {plan.description} -> {matched}, top {len(ranked)}{how} in {took}"]
    return LexicalRun(ranked, total, exact, explain, [("lexical", ranked)])


def read_broad(
    lexical: LexicalIndex,
    cache: AllowedCache,
    plan: LexicalPlan,
    depth: int,
    max_results: int,
    membership: Membership | None = None,
) -> BroadWords | None:
    """A broad filter's words from the unfiltered ranking, when its ids are kept at the searcher's commit."""
    if plan.words is None:
        return None
    generation = lexical.generation
    allowed = cache.peek(plan.required_key, generation)
    if allowed is None:
        return None
    found = rank_broad_words(lexical, plan, allowed, lexical.paper_count, depth, max_results, membership)
    # A commit loaded meanwhile (another request's freshness check): the ids may not be its searcher's.
    return found if lexical.generation == generation else None
