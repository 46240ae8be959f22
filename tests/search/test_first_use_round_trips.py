"""What a filter's first use asks the database (issue 13): the papers changed since the snapshot, once at most.

A first use answers from the vector snapshot's days and categories and asks the database only
about the papers changed since the snapshot (search/changed_since.py). Both sides of a hybrid
search used to read that list each, in a transaction of its own, and the meaning side asked the
database for the publication span to estimate a category filter's share with dates. Now the list is
read once per search, in one statement, and not at all when the search's freshness check saw no
paper changed since the snapshot; the share comes from the snapshot. Every page is compared with
the same search read by the filtered query, so answers stay the database's.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event

from papertide.search import word_side as word_side_module
from papertide.search.query import SearchService
from papertide.search.request import SearchRequest
from papertide.search.semantic import filtered as filtered_module
from tests.search.search_corpus import paper_ids, revised, store
from tests.search.test_broad_words import OPTIONS
from tests.search.test_first_use_words import IN_SNAPSHOT, PAPERS, open_stores
from tests.search.test_freshness_round_trips import traced_queries

# The read of the ids changed since the snapshot (search/changes.py fetch_changed_ids; not the index's catch-up).
CHANGED_READ = re.compile(r"^SELECT papers\.id\s+FROM papers\s+WHERE papers\.seq > .* ORDER BY papers\.seq", re.DOTALL)
Page = tuple[list[tuple[int, float]], int, bool, bool]


class Statements:
    """The statements the engine runs, as SQLAlchemy sends them (either dialect)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sent: list[str] = []
        event.listen(engine, "before_cursor_execute", self._record)

    def _record(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.sent.append(statement)

    def changed_reads(self) -> int:
        return sum(bool(CHANGED_READ.search(statement)) for statement in self.sent)

    def remove(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._record)


def first_use(service: SearchService, text: str) -> tuple[Page, list[str]]:
    """Page 1 of hybrid ``text`` with no filter ids kept, and its explain lines."""
    service.allowed_cache.clear()
    found = service.search(SearchRequest(text=text, mode="hybrid", per_page=10))
    page = ([(hit.paper_id, hit.score) for hit in found.hits], found.total, found.total_exact, found.has_more)
    return page, found.explain


def test_both_sides_of_a_first_use_share_one_read_of_the_changes_and_none_when_nothing_changed(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stores = open_stores(engine, tmp_path)
    # Nearest first (the cost model made to prefer it): the meaning side checks its neighbours in the snapshot
    # and keeps no ids the word side could find meanwhile, so both sides check papers there.
    monkeypatch.setattr(filtered_module, "NEAREST_FIRST_COST_RATIO", 0.0)
    options = dataclasses.replace(OPTIONS, candidate_limit=0)
    service = SearchService(stores.engine, stores.lexical, lambda: stores.semantic, options=options)
    service.semantic()
    text = "graph methods cat:cs.LG"

    def expected() -> Page:
        # The same search with the word side's snapshot withheld: its filtered query, as the index has it.
        with monkeypatch.context() as withheld:
            withheld.setattr(word_side_module, "compose_snapshot_words", lambda *_: None)
            return first_use(service, text)[0]

    statements = Statements(stores.engine)
    try:
        page, explain = first_use(service, text)
        assert any(line.startswith("lexical:") and IN_SNAPSHOT in line for line in explain), explain
        assert any(line.startswith("semantic:") and "checked on the" in line for line in explain), explain
        # Nothing changed since the snapshot: the search's freshness check said so, nothing more is read.
        assert statements.changed_reads() == 0, statements.sent
        assert page == expected()

        ids = paper_ids(stores.engine)
        tied = [p for p in PAPERS if p.title == "Graph methods"][:4]
        moved = [p for p in PAPERS if "math.OC" in p.categories and "graph" in p.title.lower()][:3]
        store(
            stores.engine,
            *[revised(p, categories=("math.OC",), primary_category="math.OC") for p in tied],
            *[revised(p, categories=("cs.LG",), primary_category="cs.LG") for p in moved],
        )
        statements.sent.clear()
        page, explain = first_use(service, text)
        assert any(line.startswith("lexical:") and IN_SNAPSHOT in line for line in explain), explain
        # Papers changed: their list read once for both sides.
        assert statements.changed_reads() == 1, statements.sent
        assert page == expected()
        assert not {ids[p.arxiv_id] for p in tied} & {paper for paper, _ in page[0]}
    finally:
        statements.remove()


@pytest.mark.parametrize("dialect", ["postgres"])
@pytest.mark.parametrize("text", ["graph nodes until:2026-01-15", "graph nodes cat:cs.LG since:2025-03-01"])
def test_a_date_filter_s_first_use_sends_postgresql_only_the_freshness_checks_when_nothing_changed(
    engine: Engine, tmp_path: Path, text: str
) -> None:
    stores = open_stores(engine, tmp_path)
    service = SearchService(stores.engine, stores.lexical, lambda: stores.semantic, options=OPTIONS)
    first_use(service, text)  # warm: the first search opens the indexes (reads beyond the checks)

    service.allowed_cache.clear()
    queries = traced_queries(stores.engine, tmp_path / "libpq.trace", service, text)

    checks = [query for query in queries if re.search(r"max\((papers\.seq|paper_vectors\.change_seq)\)", query)]
    assert len(checks) == 2, queries
    # No transaction, no list of changes, no publication span: besides the checks only the pool's pings.
    assert set(queries) - set(checks) <= {";"}, queries
