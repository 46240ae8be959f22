"""match_topics: many digest topics at once, ranked exactly as one search_ids call per topic ranks them."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update

import papertide.search.topics as topics_module
from papertide.domain.query import parse_query
from papertide.domain.subscribers import topic_words
from papertide.search.lexical.index import LexicalIndex
from papertide.search.lexical.plan import compose_lexical_plan
from papertide.search.query import SearchService
from papertide.search.request import SearchOptions
from papertide.search.semantic.searcher import open_semantic
from papertide.search.topics import TopicSearch, match_topics, topic_space
from papertide.store.engine import begin_write
from papertide.store.schema import papers, topic_vectors
from papertide.store.topic_vectors import topic_vector_key
from tests.search.hashing_embedder import HashingEmbedder

TOPICS = [
    "neural networks",
    "graph neural networks for molecules",
    "language models",
    "dynamics",
    '"quantum error" correction',
    "ODE: theory",
    "cat:cs.LG",
    "the of and",
    "zzzz unknown words qqq",
    "reinforcement learning robots",
    'unbalanced "quote',
]


def build(engine: Engine, folder: Path, semantic: bool, **options: object) -> SearchService:
    index = LexicalIndex(engine, folder / "lexical")
    index.open()
    embedder = HashingEmbedder()
    searcher = open_semantic(engine, folder / "vectors", model=embedder.name, backend="test", embedder=embedder)
    searcher.sync()
    loader = (lambda: searcher) if semantic else None
    return SearchService(engine, index, loader, SearchOptions(**options))  # type: ignore[arg-type]


@pytest.mark.parametrize("fusion", ["rrf", "convex"])
@pytest.mark.parametrize("semantic", [True, False])
def test_many_topics_at_once_rank_exactly_as_one_search_per_topic_among_the_candidates(
    corpus_engine: Engine, tmp_path: Path, fusion: str, semantic: bool
) -> None:
    service = build(corpus_engine, tmp_path, semantic, fusion=fusion, similarity_floor=0.05)
    with corpus_engine.connect() as conn:
        every = sorted(int(i) for i in conn.execute(select(papers.c.id)).scalars())
    candidates = every[::2]  # half of the papers, as a digest's listing window would pick
    for hits in (5, 30):
        batch = match_topics(service, TOPICS, hits, candidates)
        one_by_one = {topic: service.search_ids(topic, hits, candidates) for topic in TOPICS}
        assert batch == one_by_one
        assert set().union(*batch.values()) <= set(candidates)
    assert any(batch.values()), "the corpus must give some topics matches, or the comparison proves nothing"


def test_no_candidates_match_no_topic(corpus_engine: Engine, tmp_path: Path) -> None:
    service = build(corpus_engine, tmp_path, True)
    assert match_topics(service, ["neural networks"], 10, []) == {"neural networks": []}


def test_batch_after_batch_among_the_same_candidates_builds_them_once_and_ranks_as_search_ids(
    corpus_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = build(corpus_engine, tmp_path, True, similarity_floor=0.05)
    with corpus_engine.connect() as conn:
        every = sorted(int(i) for i in conn.execute(select(papers.c.id)).scalars())
    built: list[frozenset[int]] = []
    original = topics_module._Candidates

    def counted(search: SearchService, within: frozenset[int]) -> object:
        built.append(within)
        return original(search, within)

    monkeypatch.setattr(topics_module, "_Candidates", counted)
    search = TopicSearch(service)
    candidates = every[::2]
    for topic in TOPICS:  # one topic per call, as the last batches of a run ask
        assert search([topic], 5, candidates) == {topic: service.search_ids(topic, 5, candidates)}
    assert built == [frozenset(candidates)]
    fewer = every[1::3]
    assert search(["neural networks"], 5, fewer) == {"neural networks": service.search_ids("neural networks", 5, fewer)}
    assert built == [frozenset(candidates), frozenset(fewer)]


def test_the_lexical_top_list_as_arrays_equals_the_pairs_search_returns(corpus_engine: Engine, tmp_path: Path) -> None:
    service = build(corpus_engine, tmp_path, False)
    lexical = service.lexical
    compared = 0
    for topic in ["neural networks", "graph neural networks for molecules", "dynamics", "zzzz unknown words qqq"]:
        plan = compose_lexical_plan(lexical.schema, parse_query(topic), service.options.field_weights)
        assert plan.ranked is not None
        for limit in (1, 3, 50):
            pairs, _ = lexical.search(plan.ranked, limit, count=False)
            ranked = lexical.search_ranked(plan.ranked, limit)
            assert ranked.ids.tolist() == [paper_id for paper_id, _ in pairs]
            assert ranked.scores.tolist() == [score for _, score in pairs]
            compared += len(pairs)
    assert compared > 10, "some topics must match, or the comparison proves nothing"


def test_the_topics_similarity_product_runs_on_one_blas_thread_so_none_spins_on_the_other_core_after_it(
    corpus_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = build(corpus_engine, tmp_path, True)
    with corpus_engine.connect() as conn:
        every = sorted(int(i) for i in conn.execute(select(papers.c.id)).scalars())
    original = topics_module.threadpool_limits
    asked: list[object] = []

    def recorded(limits: object = None, user_api: object = None) -> object:
        asked.append((limits, user_api))
        return original(limits=limits, user_api=user_api)

    monkeypatch.setattr(topics_module, "threadpool_limits", recorded)
    found = match_topics(service, ["neural networks", "dynamics"], 5, every)
    assert asked == [(1, "blas")], "one limited product per call"
    assert found == {topic: service.search_ids(topic, 5, every) for topic in ("neural networks", "dynamics")}


def _stored_rows(engine: Engine) -> list[tuple[str, str, bytes]]:
    with engine.connect() as conn:
        rows = conn.execute(select(topic_vectors.c.topic, topic_vectors.c.space, topic_vectors.c.vector))
        return [(topic, space, bytes(vector)) for topic, space, vector in rows]


def test_a_later_run_reads_the_topic_vectors_an_earlier_one_stored_and_ranks_exactly_the_same(
    corpus_engine: Engine, tmp_path: Path
) -> None:
    service = build(corpus_engine, tmp_path, True, similarity_floor=0.05)
    embedder = service.semantic().embedder  # type: ignore[attr-defined]
    with corpus_engine.connect() as conn:
        candidates = sorted(int(i) for i in conn.execute(select(papers.c.id)).scalars())[::2]
    words = sorted({topic_words(topic) for topic in TOPICS} - {""})  # what planning asks
    first_day = TopicSearch(service)(words, 10, candidates)
    embedded = embedder.embedded
    stored = _stored_rows(corpus_engine)
    plain = {topic_vector_key(w) for w in words if w != "the of and"}  # stop words only: no vector
    assert {topic for topic, _, _ in stored} == plain, "each plain topic stored once, under its words' hash"
    assert not any(w.encode() in b"".join(topic.encode() for topic, _, _ in stored) for w in words)

    next_day = TopicSearch(service)(words, 10, candidates)
    assert next_day == first_day == {w: service.search_ids(w, 10, candidates) for w in words}
    assert embedder.embedded == embedded, "no topic embedded again"
    assert len(_stored_rows(corpus_engine)) == len(stored)


def test_stored_topic_vectors_of_another_backend_or_width_are_never_read(corpus_engine: Engine, tmp_path: Path) -> None:
    service = build(corpus_engine, tmp_path, True, similarity_floor=0.05)
    with corpus_engine.connect() as conn:
        candidates = sorted(int(i) for i in conn.execute(select(papers.c.id)).scalars())
    words = ["neural networks", "language models"]
    expected = TopicSearch(service)(words, 10, candidates)
    # The same model behind another query backend (int8, bf16 change the vectors): a space of its own.
    embedder = HashingEmbedder()
    searcher = open_semantic(
        corpus_engine, tmp_path / "vectors", model=embedder.name, backend="test-int8", embedder=embedder
    )
    other = SearchService(corpus_engine, service.lexical, lambda: searcher, service.options)
    assert TopicSearch(other)(words, 10, candidates) == expected
    assert embedder.embedded == 2, "embedded anew, not read from the other backend's space"
    assert len({space for _, space, _ in _stored_rows(corpus_engine)}) == 2
    # A stored vector of the wrong width (a damaged row) is embedded again and replaced.
    with begin_write(corpus_engine) as conn:
        conn.execute(update(topic_vectors).values(vector=b"\0" * 12))
    assert TopicSearch(other)(words, 10, candidates) == expected
    assert embedder.embedded == 4
    widths = {(space == topic_space(searcher), len(vector)) for _, space, vector in _stored_rows(corpus_engine)}
    assert widths == {(True, embedder.dim * 4), (False, 12)}, "replaced in the space read, left in the other"


def test_a_topic_holding_a_lone_surrogate_has_a_stable_key_of_its_own() -> None:
    # Preferences stored by an older version may hold one (tests/web/test_hostile_input.py).
    key = topic_vector_key("chaos \udfff")
    assert key == topic_vector_key("chaos \udfff")
    assert key != topic_vector_key("chaos") and len(key) == 64
