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

A topic given as plain words (``topic_words``: what planning asks) has its query vector kept in
the database (store/topic_vectors.py) under the vector space of the model that made it
(``topic_space``): a daily run then embeds only the topics no earlier run embedded, and a run
whose topics are all stored does not even load the model.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Collection, Sequence
from dataclasses import replace

import numpy as np
import numpy.typing as npt
import tantivy
from threadpoolctl import threadpool_limits

from papertide.domain.clock import utc_now
from papertide.domain.errors import InvalidQuery
from papertide.domain.query import SearchQuery, parse_query
from papertide.domain.subscribers import topic_words
from papertide.search.fusion import fuse_words_and_meaning
from papertide.search.lexical.candidates import candidate_filter
from papertide.search.lexical.plan import LexicalPlan, compose_lexical_plan
from papertide.search.query import SearchService
from papertide.search.ranked import Ranked
from papertide.search.request import SearchUnavailable
from papertide.search.semantic.admitted import select_top_arrays
from papertide.search.semantic.searcher import SemanticSearcher
from papertide.store.engine import begin_write
from papertide.store.topic_vectors import read_topic_vectors, topic_vector_key, write_topic_vectors

log = logging.getLogger(__name__)
Pairs = list[tuple[int, float]]
# A topic's nearest candidates: ids and similarities, best first.
Ranking = tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]
TOPIC_TEXT_VERSION = 1
"""Bumped when what is embedded for a topic's words changes (``_parse``): stored vectors then go unread."""


def topic_space(semantic: SemanticSearcher) -> str:
    """The stored topic vectors' space: what makes one model's query vectors incomparable to another's.

    The model's name (a path for a folder model), its width, the backend that embeds queries
    (``onnx-int8`` and ``torch-bf16`` change the vectors) and how a topic becomes text, hashed.
    The same identity as the papers' vectors (name and width) plus the query backend.
    """
    width = semantic.space.dim or semantic.embedder.dim
    identity = f"{semantic.model_name}\0{width}\0{semantic.backend}\0{TOPIC_TEXT_VERSION}"
    # A folder model's path may hold undecodable bytes (os.fsdecode's surrogates): still one key.
    return hashlib.sha256(identity.encode("utf-8", "surrogatepass")).hexdigest()


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
    stored = [topic if topic_words(topic) == topic else None for topic in plain]
    texts = [query.text for query, _ in plain.values()]
    semantic = _semantic_rankings(shared, stored, texts, max(depth, options.max_results))
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


def _semantic_rankings(
    shared: _Candidates, stored: list[str | None], texts: list[str], wanted: int
) -> list[Ranking] | None:
    """Each text's nearest candidates (best first, ties by id), or None when semantic search is unavailable.

    :param stored: for each text, the topic words its vector is stored under, or None (not stored).
    """
    if shared.semantic is None:
        return None
    if not texts or len(shared.ids) == 0:
        return [select_top_arrays(np.zeros(0, dtype=np.float32), shared.ids, wanted) for _ in texts]
    try:
        queries = _query_vectors(shared.service, shared.semantic, stored, texts)
    except Exception:  # the model cannot load here: words only, as search does
        log.exception("topics could not be embedded; matching them by words only")
        return None
    # One BLAS thread: OpenBLAS's helper threads spin on the other core for a while after each
    # product, CPU the delivery processes need (0.4 s per 40 calls measured; the web app does the same).
    with threadpool_limits(limits=1, user_api="blas"):
        scores = queries @ shared.vectors.T
    return [select_top_arrays(row, shared.ids, wanted) for row in scores]


def _query_vectors(
    service: SearchService, semantic: SemanticSearcher, stored: list[str | None], texts: list[str]
) -> npt.NDArray[np.float32]:
    """The texts' query vectors: those stored by an earlier run read back, the others embedded now and stored.

    The store failing (a locked or damaged table) costs only the saving: every topic is then embedded.
    """
    space = topic_space(semantic)
    keys = [None if words is None else topic_vector_key(words) for words in stored]
    found: dict[str, bytes] = {}
    wanted = [key for key in keys if key is not None]
    if wanted:
        try:
            with service.engine.connect() as conn:
                found = read_topic_vectors(conn, space, wanted)
        except Exception:
            log.exception("stored topic vectors could not be read; embedding every topic")
    width = semantic.space.dim or semantic.embedder.dim
    queries = np.empty((len(texts), width), dtype=np.float32)
    missing: list[int] = []
    for row, key in enumerate(keys):
        raw = found.get(key) if key is not None else None
        if raw is not None and len(raw) == width * 4:
            queries[row] = np.frombuffer(raw, dtype="<f4")
        else:
            missing.append(row)  # new, not stored, or of the wrong width (replaced below)
    if not missing:
        return queries
    queries[missing] = semantic.embed_queries([texts[row] for row in missing])
    new = {key: queries[row].astype("<f4").tobytes() for row in missing if (key := keys[row]) is not None}
    if new:
        try:
            with begin_write(service.engine) as conn:
                write_topic_vectors(conn, space, new, utc_now())
        except Exception:
            log.exception("%d new topic vectors could not be stored; the next run embeds them again", len(new))
    return queries
