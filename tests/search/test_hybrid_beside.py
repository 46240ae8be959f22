"""Hybrid search runs its word side beside its meaning side (issue 13), with the same results as one after the other.

Barriers, not timings: the meaning side waits until the word side has started searching, which
can only happen when the two run at the same time.
"""

from __future__ import annotations

import dataclasses
import re
import threading
from collections.abc import Collection
from pathlib import Path
from typing import Any

import pytest
import tantivy
from sqlalchemy import Engine

from papertide.domain.query import parse_query
from papertide.search.beside import Beside
from papertide.search.lexical.index import LexicalIndex
from papertide.search.lexical.plan import compose_lexical_plan
from papertide.search.query import SearchService
from papertide.search.ranked import Ranked
from papertide.search.request import SearchOptions, SearchPage, SearchRequest
from tests.search.search_corpus import THEMED, FakeSemantic, paper_ids, store, texts_of

# Only ever reached when the sides run one after the other (the failure this file guards against).
BARRIER_SECONDS = 10.0


class WaitingSemantic(FakeSemantic):
    """Ranks only once the word side has started (or the barrier gave up): records which it was."""

    def __init__(self, texts: dict[int, str], started: threading.Event) -> None:
        super().__init__(texts)
        self.started = started
        self.saw_words_running: list[bool] = []

    def rank(self, query: str, k: int, candidates: Collection[int] | None = None) -> Ranked:
        self.saw_words_running.append(self.started.wait(BARRIER_SECONDS))
        return super().rank(query, k, candidates)


def watch_word_side(lexical: LexicalIndex, started: threading.Event) -> list[str]:
    """Set ``started`` when the lexical index is searched; returns the names of the threads that searched it."""
    threads: list[str] = []
    search = lexical.search_counted

    def searching(query: tantivy.Query, limit: int, *, count: bool = True) -> tuple[Ranked, int]:
        threads.append(threading.current_thread().name)
        started.set()
        return search(query, limit, count=count)

    lexical.search_counted = searching  # type: ignore[method-assign]
    return threads


def service_for(engine: Engine, index_dir: Path, semantic: Any, **options: Any) -> SearchService:
    index = LexicalIndex(engine, index_dir)
    index.open()
    return SearchService(engine, index, lambda: semantic, SearchOptions(**options))


def comparable(page: SearchPage) -> tuple[object, ...]:
    """Everything a page says, the engines' own durations left out."""
    explain = [re.sub(r" in [0-9.]+ ms", "", line) for line in page.explain]
    hits = [(hit.paper_id, hit.score, sorted(hit.detail.items())) for hit in page.hits]
    return hits, page.total, page.total_exact, page.has_more, page.mode, explain, page.notices


def test_hybrid_search_runs_the_word_side_while_the_meaning_side_searches(
    themed_sqlite: Engine, index_dir: Path
) -> None:
    started = threading.Event()
    semantic = WaitingSemantic(texts_of(themed_sqlite), started)
    service = service_for(themed_sqlite, index_dir, semantic)
    threads = watch_word_side(service.lexical, started)

    page = service.search(SearchRequest(text="lorenz attractor"))

    assert semantic.saw_words_running == [True]
    assert threads and threads[0] != threading.current_thread().name
    assert page.hits and page.hits[0].detail["lexical_rank"] == 1


@pytest.mark.parametrize(
    ("text", "request_options"),
    [
        ("lorenz attractor", {}),
        ("chaotic dynamics", {"page": 2, "per_page": 1}),
        ("turbulence", {}),
        ("chaotic dynamics cat:cs.LG", {}),
        ('"gradient descent"', {}),
        ("mind", {"sort": "newest"}),
    ],
)
@pytest.mark.parametrize("fusion", ["rrf", "convex"])
def test_side_by_side_and_one_after_the_other_give_the_same_page(
    themed_sqlite: Engine, tmp_path: Path, text: str, request_options: dict[str, Any], fusion: str
) -> None:
    texts = texts_of(themed_sqlite)
    beside = service_for(themed_sqlite, tmp_path / "a", FakeSemantic(texts), fusion=fusion, similarity_floor=0.1)
    alone = service_for(themed_sqlite, tmp_path / "b", FakeSemantic(texts), fusion=fusion, similarity_floor=0.1)
    alone.beside = Beside(0, "none")  # no workers: the word side runs after the meaning side, in the caller

    request = SearchRequest(text=text, **request_options)

    assert comparable(beside.search(request)) == comparable(alone.search(request))


def test_an_error_of_the_word_side_reaches_the_caller(themed_sqlite: Engine, index_dir: Path) -> None:
    service = service_for(themed_sqlite, index_dir, FakeSemantic(texts_of(themed_sqlite)))

    def broken(*_arguments: object, **_options: object) -> object:
        raise RuntimeError("the lexical index broke")

    service.lexical.search_counted = broken  # type: ignore[method-assign]
    with pytest.raises(RuntimeError, match="the lexical index broke"):
        service.search(SearchRequest(text="lorenz attractor"))


def test_a_call_no_worker_has_picked_up_runs_in_the_caller_thread() -> None:
    beside = Beside(1, "test-beside")
    release = threading.Event()
    busy = beside.start(lambda: release.wait(BARRIER_SECONDS))
    try:
        waiting = beside.start(lambda: threading.current_thread().name)
        assert waiting.result() == threading.current_thread().name
    finally:
        release.set()
    assert busy.result() is True
    beside.close()


def test_a_worker_runs_the_call_and_its_exception_is_raised_to_the_caller() -> None:
    beside = Beside(1, "test-beside")
    ran = threading.Event()

    def fail() -> None:
        ran.set()
        raise ValueError("bad query")

    pending = beside.start(fail)
    assert ran.wait(BARRIER_SECONDS)
    with pytest.raises(ValueError, match="bad query"):
        pending.result()
    beside.close()


@pytest.mark.parametrize("count", [True, False])
@pytest.mark.parametrize("text", ["lorenz attractor", "chaotic dynamics", "mind", "zzqxjvbw"])
def test_the_array_search_hybrid_fuses_gives_what_the_pair_search_gives(
    themed_sqlite: Engine, index_dir: Path, text: str, count: bool
) -> None:
    service = service_for(themed_sqlite, index_dir, FakeSemantic(texts_of(themed_sqlite)))
    plan = compose_lexical_plan(service.lexical.schema, parse_query(text), service.options.field_weights)
    assert plan.ranked is not None
    for limit in (1, 2, 50):
        pairs, total = service.lexical.search(plan.ranked, limit, count=count)
        ranked, counted = service.lexical.search_counted(plan.ranked, limit, count=count)
        assert ranked.pairs() == pairs
        assert counted == total


def watch_refresh(lexical: LexicalIndex, started: threading.Event) -> list[str]:
    """Set ``started`` when the lexical index's freshness check runs; returns the names of the threads that ran it."""
    threads: list[str] = []
    refresh = lexical.refresh

    def refreshing() -> None:
        threads.append(threading.current_thread().name)
        started.set()
        refresh()

    lexical.refresh = refreshing  # type: ignore[method-assign]
    return threads


def test_a_filtered_hybrid_search_whose_ids_are_kept_checks_the_index_on_the_word_side(
    themed_sqlite: Engine, index_dir: Path
) -> None:
    started = threading.Event()
    semantic = WaitingSemantic(texts_of(themed_sqlite), started)
    service = service_for(themed_sqlite, index_dir, semantic)
    threads = watch_refresh(service.lexical, started)
    first = service.search(SearchRequest(text="chaotic dynamics cat:cs.LG"))  # reads and keeps the filter's ids
    assert threads == [threading.current_thread().name]  # a filter's first use checks the index first
    threads.clear()
    started.clear()
    semantic.saw_words_running.clear()

    again = service.search(SearchRequest(text="chaotic dynamics cat:cs.LG"))

    assert semantic.saw_words_running == [True]
    assert threads and threading.current_thread().name not in threads
    assert comparable(again) == comparable(first)


def test_a_filtered_search_whose_index_moved_under_its_meaning_side_runs_that_side_again(
    themed_sqlite: Engine, tmp_path: Path
) -> None:
    texts = texts_of(themed_sqlite)
    semantic = FakeSemantic(texts)
    service = service_for(themed_sqlite, tmp_path / "a", semantic)
    # No workers: the word side, freshness check first, runs after the meaning side has read the kept ids.
    service.beside = Beside(0, "none")
    service.search(SearchRequest(text="chaotic dynamics cat:cs.LG"))
    store(themed_sqlite, dataclasses.replace(THEMED[0], arxiv_id="2506.00006", title="Chaotic attractors, learned"))
    added = paper_ids(themed_sqlite)["2506.00006"]
    semantic.texts[added] = "Chaotic attractors, learned"

    page = service.search(SearchRequest(text="chaotic dynamics cat:cs.LG"))

    candidates = semantic.calls[-1][2]
    assert candidates is not None and added in candidates
    # As a search whose check came before anything (a new index: its BM25 statistics differ slightly).
    fresh = service_for(themed_sqlite, tmp_path / "b", FakeSemantic(semantic.texts))
    expected = fresh.search(SearchRequest(text="chaotic dynamics cat:cs.LG"))
    assert by_meaning(page) == by_meaning(expected)
    assert (page.total, page.total_exact) == (expected.total, expected.total_exact)
    assert added in [hit.paper_id for hit in page.hits]


def by_meaning(page: SearchPage) -> list[tuple[int, object, object]]:
    """Each hit's paper, meaning rank and meaning score."""
    return [(hit.paper_id, hit.detail.get("semantic_rank"), hit.detail.get("semantic_score")) for hit in page.hits]
