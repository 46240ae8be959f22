"""Shared by the tests of filters answered from a vector snapshot's arrays (publication days, categories; issue 13).

Each compares a filter's semantic results with the truth: the filter read from the database now and
the query ranked among those papers alone, so a first use answered from the snapshot (plus the papers
changed since it) must give exactly the database's answer.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from papertide.domain.query import parse_query
from papertide.search.database_filter import compose_checked_filter, fetch_filter_ids
from papertide.search.lexical.index import LexicalIndex
from papertide.search.query import SearchService
from papertide.search.request import SearchOptions, SearchRequest
from papertide.search.semantic.searcher import SemanticSearcher
from papertide.search.semantic.snapshot import POINTER
from tests.search.search_corpus import open_hashed_stores

QUERY = "graph neural lattice"


def open_service(engine: Engine, folder: Path) -> tuple[SearchService, SemanticSearcher]:
    """A search service over what ``engine`` stores; the hashing model's snapshot is kept in ``folder``."""
    lexical, semantic = open_hashed_stores(engine, folder)
    options = SearchOptions(similarity_floor=-1.0, max_results=1000, fusion_depth=50)
    return SearchService(engine, lexical, lambda: semantic, options), semantic


class IdReads:
    """Counts the reads of a filter's ids from the database or the lexical index (the path the snapshot replaces)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from papertide.search import allowed_ids

        self.count = 0
        fetch, matching = allowed_ids.fetch_filter_ids, LexicalIndex.matching_ids

        def counted_fetch(*args: Any) -> Any:
            self.count += 1
            return fetch(*args)

        def counted_matching(*args: Any) -> Any:
            self.count += 1
            return matching(*args)

        monkeypatch.setattr(allowed_ids, "fetch_filter_ids", counted_fetch)
        monkeypatch.setattr(LexicalIndex, "matching_ids", counted_matching)


def truth(service: SearchService, semantic: SemanticSearcher, text: str) -> tuple[list[tuple[int, float]], int]:
    """The filter read from the database now and the query ranked among those papers alone; how many pass."""
    checked = compose_checked_filter(parse_query(text))
    assert checked is not None
    with service.engine.connect() as conn:
        allowed = fetch_filter_ids(conn, checked)
    ranked = semantic.rank(QUERY, 1000, candidates=allowed) if len(allowed) else None
    return ([] if ranked is None else ranked.pairs()), len(allowed)


def found(service: SearchService, text: str) -> tuple[list[tuple[int, float]], str]:
    """The semantic hits of ``QUERY`` with the filter ``text``, and the search's explain line for that side."""
    page = service.search(SearchRequest(text=f"{QUERY} {text}", mode="semantic", per_page=1000))
    explain = next(line for line in page.explain if line.startswith("semantic:"))
    return [(hit.paper_id, hit.score) for hit in page.hits], explain


def assert_exact(service: SearchService, semantic: SemanticSearcher, text: str) -> None:
    """The filter's first use (nothing kept) gives the truth's papers, scores and count."""
    service.allowed_cache.clear()
    hits, explain = found(service, text)
    expected, allowed = truth(service, semantic, text)
    assert [pid for pid, _ in hits] == [pid for pid, _ in expected], text
    assert [score for _, score in hits] == pytest.approx([score for _, score in expected], abs=1e-6)
    assert f"the {allowed} allowed by" in explain or (allowed == 0 and not hits), (text, explain)


def current_snapshot(folder: Path) -> Path:
    """The folder of the snapshot ``folder``'s vector pointer names."""
    return folder / "vectors" / str(json.loads((folder / "vectors" / POINTER).read_text())["snapshot"])
