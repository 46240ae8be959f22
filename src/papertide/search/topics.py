"""Many free-text topics matched at once among one set of candidate papers (the digest's topics, issue 13).

``SearchService.search_ids(topic, k, within=candidates)`` ranks one topic at a time: it builds the
candidate filter, embeds the topic, looks the candidates up in the vector index and asks tantivy
three times. A digest run asks it for every distinct topic its subscribers follow, thousands of
them, among the same candidates. ``match_topics`` gives the same ranking (the same lexical plan,
semantic depth, fusion and similarity floor as SearchService.search in hybrid mode) with the
shared work done once: the candidate filter is built once (ranges of ids where the candidates
are nearly consecutive, lexical/candidates.py; otherwise a term-set query), the topics are embedded in batches, and
their similarities to every candidate come from one matrix product. Only the BM25 top list is
asked per topic. A topic that is not plain words (a filter, only stop words) goes through
``search_ids`` as before.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import replace

import numpy as np
import numpy.typing as npt
import tantivy
from threadpoolctl import threadpool_limits

from papertide.domain.errors import InvalidQuery
from papertide.domain.query import SearchQuery, parse_query
from papertide.search.fusion import fuse_words_and_meaning
from papertide.search.lexical.candidates import candidate_filter
from papertide.search.lexical.plan import LexicalPlan, compose_lexical_plan
from papertide.search.query import SearchService
from papertide.search.ranked import Ranked
from papertide.search.request import SearchUnavailable
from papertide.search.semantic.admitted import select_top_arrays
from papertide.search.semantic.searcher import SemanticSearcher

log = logging.getLogger(__name__)
Pairs = list[tuple[int, float]]
# A topic's nearest candidates: ids and similarities, best first.
Ranking = tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]


def _parse(text: str) -> SearchQuery | None:
    """The topic as a query, read as plain words when it is not valid syntax (as search_ids does)."""
    for attempt in (text, text.replace('"', " ").replace(":", " ").strip()):
        try:
            query = parse_query(attempt)
        except InvalidQuery:
            continue
        return None if query.is_empty else query
    return None


class _Candidates:
    """What every topic shares: the tantivy filter of the candidates and their vectors."""

    def __init__(self, service: SearchService, within: frozenset[int]) -> None:
        self.service = service
        self.filter = candidate_filter(service.lexical.schema, within)
        self.ids: npt.NDArray[np.int64] = np.zeros(0, dtype=np.int64)
        self.vectors: npt.NDArray[np.float32] = np.zeros((0, 1), dtype=np.float32)
        self.semantic: SemanticSearcher | None = None
        # Another kind of semantic ranker (no batch calls): every topic takes the general path.
        self.general = False
        try:
            semantic = service.semantic()
        except SearchUnavailable:
            return
        if not isinstance(semantic, SemanticSearcher):
            self.general = True
            return
        try:
            self.ids, self.vectors = semantic.candidate_vectors(within)
        except Exception:  # vectors of another model, a damaged index: words only, as search does
            log.exception("the candidates' vectors could not be read; matching topics by words only")
            return
        self.semantic = semantic

    def restrict(self, plan: LexicalPlan) -> LexicalPlan:
        ranked = None if plan.ranked is None else _both(plan.ranked, self.filter)
        return replace(plan, ranked=ranked)


def _both(first: tantivy.Query, second: tantivy.Query) -> tantivy.Query:
    return tantivy.Query.boolean_query([(tantivy.Occur.Must, first), (tantivy.Occur.Must, second)])


def match_topics(
    service: SearchService, topics: Sequence[str], k: int, within: Collection[int]
) -> dict[str, list[int]]:
    """For each topic, the ``k`` best of ``within`` by hybrid relevance, as ``search_ids`` ranks them."""
    return TopicSearch(service)(topics, k, within)


class TopicSearch:
    """``match_topics`` called again and again among the same candidates (a digest run, batch by batch).

    A run asks for the new topics of every batch of subscribers, often only a few: the
    candidates' filter and vectors (about 8 ms among 3,000 papers) are then kept from the
    previous call instead of built again each time, while the candidates are the same set: the
    candidates' vectors are those read at the run's first call (a paper embedded again during the
    run is matched by its earlier vector until the next run). One instance serves one run
    (services.topic_matcher makes one per matcher).
    """

    def __init__(self, service: SearchService) -> None:
        self.service = service
        self._shared: _Candidates | None = None
        self._among: frozenset[int] = frozenset()

    def __call__(self, topics: Sequence[str], k: int, within: Collection[int]) -> dict[str, list[int]]:
        """For each topic, the ``k`` best of ``within`` by hybrid relevance, as ``search_ids`` ranks them."""
        service = self.service
        among = within if isinstance(within, frozenset) else frozenset(within)
        if not topics or not among:
            return {topic: [] for topic in topics}
        service.lexical.ensure_open()
        service.lexical.refresh()
        if self._shared is None or among != self._among:
            self._shared, self._among = _Candidates(service, among), among
        return _match(self._shared, among, topics, k)


def _match(shared: _Candidates, among: frozenset[int], topics: Sequence[str], k: int) -> dict[str, list[int]]:
    service = shared.service
    options = service.options
    k = max(1, min(k, options.max_results))
    needed = k + 1
    depth = options.fusion_depth if needed <= options.fusion_depth else options.max_results
    plain: dict[str, tuple[SearchQuery, LexicalPlan]] = {}
    found: dict[str, list[int]] = {}
    for topic in dict.fromkeys(topics):
        query = _parse(topic)
        if query is None:
            found[topic] = []
            continue
        try:
            plan = compose_lexical_plan(service.lexical.schema, query, options.field_weights)
        except InvalidQuery:
            plan = None
        if shared.general or plan is None or not query.has_text or plan.required is not None or plan.ranked is None:
            found[topic] = service.search_ids(topic, k, among)  # filters or stop words only: the general path
            continue
        plain[topic] = (query, shared.restrict(plan))
    semantic = _semantic_rankings(shared, [query.text for query, _ in plain.values()], max(depth, options.max_results))
    floor = options.similarity_floor
    weights = (options.lexical_weight, options.semantic_weight)
    for number, (topic, (_, plan)) in enumerate(plain.items()):
        assert plan.ranked is not None
        lexical = service.lexical.search_ranked(plan.ranked, depth)
        if semantic is None:
            found[topic] = lexical.ids[:k].tolist()
            continue
        _, kept = fuse_words_and_meaning(
            lexical,
            Ranked.of(semantic[number][0][:depth], semantic[number][1][:depth]),
            fusion=options.fusion,
            weights=weights,
            rrf_k=options.fusion_k,
            floor=floor,
        )
        found[topic] = kept.top(k).ids.tolist()
    return {topic: found[topic] for topic in topics}


def _semantic_rankings(shared: _Candidates, texts: list[str], wanted: int) -> list[Ranking] | None:
    """Each text's nearest candidates (best first, ties by id), or None when semantic search is unavailable."""
    if shared.semantic is None:
        return None
    if not texts or len(shared.ids) == 0:
        return [select_top_arrays(np.zeros(0, dtype=np.float32), shared.ids, wanted) for _ in texts]
    try:
        queries = shared.semantic.embed_queries(texts)
    except Exception:  # the model cannot load here: words only, as search does
        log.exception("topics could not be embedded; matching them by words only")
        return None
    # One BLAS thread: OpenBLAS's helper threads spin on the other core for a while after each
    # product, CPU the delivery processes need (0.4 s per 40 calls measured; the web app does the same).
    with threadpool_limits(limits=1, user_api="blas"):
        scores = queries @ shared.vectors.T
    return [select_top_arrays(row, shared.ids, wanted) for row in scores]
