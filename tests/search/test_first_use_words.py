"""A broad filter's first use reads its words unfiltered, the hits checked in the vector snapshot (issue 13).

search/word_side.py checks the unfiltered BM25 ranking against the snapshot's days and categories
(search/nearest_first.py ``keep_in_snapshot``) when the filter's ids are not kept yet. Every page is
compared with the same search read by the filtered tantivy query (a service without a semantic
side, or the snapshot withheld): the same papers, scores, order, totals and next-page flags, after
papers were recategorised, moved in time or added since the snapshot, and when too many changed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from papertide.search import nearest_first as nearest_module
from papertide.search import word_side as word_side_module
from papertide.search.database_filter import DatabaseFilter
from papertide.search.lexical.index import LexicalIndex
from papertide.search.query import SearchService
from papertide.search.request import SearchRequest
from papertide.search.semantic import filtered as filtered_module
from papertide.search.semantic.index import IndexConfig
from papertide.search.semantic.searcher import SemanticSearcher, open_semantic
from papertide.search.word_side import estimate_snapshot_share
from tests.search.hashing_embedder import HashingEmbedder
from tests.search.search_corpus import paper_ids, revised, store
from tests.search.test_broad_words import OPTIONS, UNFILTERED, corpus, read

IN_SNAPSHOT = "pass in the vector snapshot"
# Broad filters: categories, an archive, dates, both; words leaning away from the filter; a narrow filter.
BROAD = [
    "graph methods cat:cs.LG",
    "graph cat:cs",
    "graph methods since:2025-01-20",
    "graph nodes cat:cs.LG until:2026-07-15",
    "spectral cat:cs.LG",  # every match read: the count exact
]
OTHERS = ["lattice cat:cs.LG", "graph cat:q-bio.NC"]
PAPERS = corpus()


@dataclasses.dataclass
class Stores:
    engine: Engine
    lexical: LexicalIndex
    semantic: SemanticSearcher
    # Its semantic side loaded: a first use checks the words in its snapshot.
    first: SearchService
    # No semantic side: the filtered query, as before.
    plain: SearchService


def open_stores(engine: Engine, folder: Path) -> Stores:
    """The corpus stored and indexed in three commits, embedded and snapshotted with its days and categories."""
    lexical = LexicalIndex(engine, folder / "lexical")
    lexical.open()
    for start in range(0, len(PAPERS), 200):
        store(engine, *PAPERS[start : start + 200])
        lexical.sync()
    semantic = open_semantic(
        engine,
        folder / "vectors",
        model="test/hashing",
        backend="test",
        embedder=HashingEmbedder(),
        index_config=IndexConfig(kind="exact"),
    )
    semantic.sync()
    published = semantic.published_days()
    assert published is not None and published.categories is not None
    first = SearchService(engine, lexical, lambda: semantic, options=OPTIONS)
    first.semantic()
    return Stores(engine, lexical, semantic, first, SearchService(engine, lexical, options=OPTIONS))


class DatabaseChecks:
    """The ids the database was asked to check (the papers changed since the snapshot, or all)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.asked: list[list[int]] = []
        keep = nearest_module.keep_passing_ids

        def counted(conn: Any, checked: Any, ids: Any) -> Any:
            self.asked.append([int(i) for i in ids])
            return keep(conn, checked, ids)

        monkeypatch.setattr(nearest_module, "keep_passing_ids", counted)


def assert_pages_as_filtered(stores: Stores, text: str) -> bool:
    """Lexical pages 1, 2 and 5 of a first use equal the filtered query's; whether page 1 read the snapshot.

    (Which of the tied papers lead depends on the order of the index's segments, random ids: a date
    filter may find too few of them passing and run the filtered query, as it should.)
    """
    snapshot = False
    for page in (1, 2, 5):
        assert not stores.first.allowed_cache.holds(text.split(" ", 1)[1])
        got, how = read(stores.first, text, page)
        expected, before = read(stores.plain, text, page)
        assert got == expected, (text, page, how)
        assert UNFILTERED not in before
        snapshot = snapshot or (page == 1 and IN_SNAPSHOT in how)
    return snapshot


@pytest.fixture
def stores(sqlite_engine: Engine, tmp_path: Path) -> Stores:
    return open_stores(sqlite_engine, tmp_path)


def test_a_broad_filter_s_first_use_pages_read_in_the_snapshot_are_the_filtered_query_s(
    engine: Engine, tmp_path: Path
) -> None:
    stores = open_stores(engine, tmp_path)
    for text in BROAD:
        assert assert_pages_as_filtered(stores, text), text
    for text in OTHERS:
        assert not assert_pages_as_filtered(stores, text), text
    # Past max_results by the count's bound over the snapshot's highest ids, said as the filtered count says it.
    (_, total, exact, more), how = read(stores.first, "graph methods cat:cs.LG")
    assert (total, exact, more) == (50, False, True) and "among the newest allowed" in how


def test_papers_changed_since_the_snapshot_are_judged_by_the_database_and_only_they_asked(
    stores: Stores, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = paper_ids(stores.engine)
    # Tied "Graph methods" papers (cs.LG) leave the category or the range; others join; a newcomer is added.
    left = [p for p in PAPERS if p.title == "Graph methods"][:6]
    joined = [p for p in PAPERS if "math.OC" in p.categories and "graph" in p.title.lower()][:4]
    newcomer = dataclasses.replace(PAPERS[3], arxiv_id="2612.99999", published=dt.date(2026, 6, 1))
    store(
        stores.engine,
        *[revised(p, categories=("math.OC",), primary_category="math.OC") for p in left[:3]],
        *[revised(p, published=dt.date(2024, 1, 1)) for p in left[3:]],
        *[revised(p, categories=("cs.LG",), primary_category="cs.LG") for p in joined],
        newcomer,
    )
    changed = {ids[p.arxiv_id] for p in left + joined} | {paper_ids(stores.engine)[newcomer.arxiv_id]}
    checks = DatabaseChecks(monkeypatch)
    assert sum(assert_pages_as_filtered(stores, text) for text in BROAD) >= 3
    assert checks.asked and all(set(asked) <= changed for asked in checks.asked), checks.asked


def test_more_papers_changed_since_the_snapshot_than_worth_asking_about_are_all_checked_in_the_database(
    stores: Stores, monkeypatch: pytest.MonkeyPatch
) -> None:
    store(stores.engine, *[revised(p, categories=("cs.CV",)) for p in PAPERS[:4]])
    monkeypatch.setattr("papertide.search.changed_since.CHANGED_LIMIT", 1)
    checks = DatabaseChecks(monkeypatch)
    assert assert_pages_as_filtered(stores, "graph methods cat:cs.LG")
    assert checks.asked and max(len(asked) for asked in checks.asked) > 5


def test_a_hybrid_first_use_reads_the_snapshot_once_for_both_sides_and_fuses_the_filtered_words(
    stores: Stores, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[object] = []
    days = stores.semantic.published_days

    def counted() -> Any:
        reads.append(days())
        return reads[-1]

    monkeypatch.setattr(stores.semantic, "published_days", counted)
    # Nearest first (the cost model made to prefer it): the meaning side keeps no ids the word side could find
    # meanwhile (a filter with dates keeps the snapshot's selection, so its word side may read either way).
    monkeypatch.setattr(filtered_module, "NEAREST_FIRST_COST_RATIO", 0.0)

    options = dataclasses.replace(OPTIONS, candidate_limit=0)  # (nearest first needs more papers than this pass)
    service = SearchService(stores.engine, stores.lexical, lambda: stores.semantic, options=options)
    service.semantic()

    def hybrid(text: str) -> tuple[list[tuple[int, float]], int, bool, bool, list[str]]:
        service.allowed_cache.clear()
        found = service.search(SearchRequest(text=text, mode="hybrid", per_page=10))
        hits = [(hit.paper_id, hit.score) for hit in found.hits]
        return hits, found.total, found.total_exact, found.has_more, found.explain

    for text in ("graph methods cat:cs.LG", "graph cat:cs", "spectral cat:cs.LG"):
        reads.clear()
        *page, explain = hybrid(text)
        assert len(reads) == 1, text
        assert any(line.startswith("lexical:") and IN_SNAPSHOT in line for line in explain), explain
        assert any(line.startswith("semantic:") and "checked on the" in line for line in explain), explain
        with monkeypatch.context() as withheld:
            withheld.setattr(word_side_module, "compose_snapshot_words", lambda *_: None)
            *filtered, filtered_explain = hybrid(text)
        assert not any(UNFILTERED in line for line in filtered_explain)
        assert page == filtered, text


def test_the_word_side_never_loads_the_semantic_side_for_its_snapshot(stores: Stores) -> None:
    loads: list[int] = []

    def load() -> SemanticSearcher:
        loads.append(1)
        return stores.semantic

    service = SearchService(stores.engine, stores.lexical, load, options=OPTIONS)
    got, how = read(service, "graph methods cat:cs.LG")
    assert loads == [] and IN_SNAPSHOT not in how
    assert got == read(stores.plain, "graph methods cat:cs.LG")[0]
    service.semantic()
    assert IN_SNAPSHOT in read(service, "graph methods cat:cs.LG")[1]


def test_a_date_filter_s_share_is_counted_in_the_snapshot_s_days_and_a_category_s_in_the_index(stores: Stores) -> None:
    published = stores.semantic.published_days()
    assert published is not None
    since = DatabaseFilter((), dt.date(2025, 3, 1), None)
    # Every paper sampled at this size: the share is exact (papers 59 to 599 of 600 are published since).
    searcher = stores.lexical.searcher()
    assert estimate_snapshot_share(searcher, published, since, 600) == pytest.approx(541 / 600)
    both = DatabaseFilter(("cs.lg",), dt.date(2025, 3, 1), None)
    assert estimate_snapshot_share(searcher, published, both, 600) == pytest.approx(426 / 600 * 541 / 600)
    assert estimate_snapshot_share(searcher, published, DatabaseFilter(("q-bio",), None, None), 600) == 0.05
