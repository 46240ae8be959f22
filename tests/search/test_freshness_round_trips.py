"""A search's freshness checks on PostgreSQL (issue 14): one statement each, no transaction around it.

Every search asks the database whether the lexical and vector indexes are behind (the largest
``papers.seq`` and vector ``change_seq``). Through a plain pooled connection each check cost four
round trips (the pool's ping, BEGIN, the statement, ROLLBACK); they now run in autocommit. What the
client sends is read from libpq's own protocol trace, so the test sees the real messages.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import Engine, event

from papertide.search.lexical.index import LexicalIndex
from papertide.search.query import SearchService
from papertide.search.request import SearchRequest
from papertide.search.semantic.searcher import open_semantic
from tests.search.hashing_embedder import HashingEmbedder


def traced_queries(engine: Engine, trace: Path, search: SearchService, text: str = "neural networks") -> list[str]:
    """The simple-protocol queries the client sends while ``search`` answers hybrid ``text``."""
    with trace.open("w") as sink:

        def follow(dbapi_connection: object, _record: object, _proxy: object) -> None:
            dbapi_connection.pgconn.trace(sink.fileno())  # type: ignore[attr-defined]

        event.listen(engine, "checkout", follow)
        try:
            search.search(SearchRequest(text=text, mode="hybrid", per_page=5))
        finally:
            event.remove(engine, "checkout", follow)
        sink.flush()
    sent = [line.split("\t") for line in trace.read_text().splitlines()]
    return [fields[4].strip().strip('"') for fields in sent if fields[1:2] == ["F"] and fields[3:4] == ["Query"]]


@pytest.mark.parametrize("dialect", ["postgres"])
def test_a_search_checks_both_indexes_freshness_without_opening_a_transaction(
    themed_engine: Engine, tmp_path: Path
) -> None:
    lexical = LexicalIndex(themed_engine, tmp_path / "lexical")
    lexical.open()
    embedder = HashingEmbedder()
    folder = tmp_path / "vectors"
    semantic = open_semantic(themed_engine, folder, model=embedder.name, backend="test", embedder=embedder)
    semantic.sync()
    service = SearchService(themed_engine, lexical, lambda: semantic)
    # Warm: the first search opens the indexes (reads beyond the checks).
    first = service.search(SearchRequest(text="neural networks", mode="hybrid", per_page=5))
    assert first.hits, "the themed corpus must match, or the search proves nothing"

    queries = traced_queries(themed_engine, tmp_path / "libpq.trace", service)

    checks = [query for query in queries if re.search(r"max\((papers\.seq|paper_vectors\.change_seq)\)", query)]
    assert len(checks) == 2, queries
    assert not [query for query in queries if query.upper() in ("BEGIN", "ROLLBACK", "COMMIT")], queries
    # Besides the two checks only the pool's pings (";") go to the server.
    assert set(queries) - set(checks) <= {";"}, queries
