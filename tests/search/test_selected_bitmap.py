"""A date filter's first use packs the snapshot's mask into the vector bitmap, no row looked up; exact (issue 13).

A real database (SQLite and embedded PostgreSQL), lexical index and semantic searcher (the hashing
test model) whose snapshot keeps every paper's publication day and holds a vector for each, in
the same order (search/semantic/selections.py, mapped.py ``rows_follow_papers``). The results are
compared with the filter read from the database now and ranked among those papers alone, after
papers were added (one embedded into the delta), moved into or out of range, undated, and
embedded again (their snapshot rows hidden); a snapshot whose rows do not follow its papers looks
each row up as before.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import Engine

from papertide.search.allowed import apply_changes
from papertide.search.query import SearchService
from papertide.search.semantic import mapped
from papertide.search.semantic.admitted import rows_in
from papertide.search.semantic.days import PublishedDays
from papertide.search.semantic.mapped import MappedIndex, open_mapped
from papertide.search.semantic.searcher import SemanticSearcher
from tests.search.search_corpus import paper_ids, revised, store
from tests.search.snapshot_filters import found, open_service, truth
from tests.search.test_published_days import FILTERS, PAPERS, paper


class RowLookups:
    """Counts the lookups of candidate ids' rows in the snapshot (the path the mask replaces)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        rows_of = MappedIndex.rows_of

        def counted_rows_in(*args: Any) -> Any:
            self.count += 1
            return rows_in(*args)

        def counted_rows_of(*args: Any) -> Any:
            self.count += 1
            return rows_of(*args)

        monkeypatch.setattr(mapped, "rows_in", counted_rows_in)
        monkeypatch.setattr(MappedIndex, "rows_of", counted_rows_of)


def base_index(semantic: SemanticSearcher) -> MappedIndex:
    index = semantic.index
    assert index is not None and isinstance(index.base, MappedIndex)
    return index.base


def assert_first_use(service: SearchService, semantic: SemanticSearcher, text: str, lookups: RowLookups) -> int:
    """The filter's first use gives the truth's papers, scores and count; returns the rows it looked up."""
    service.allowed_cache.clear()
    before = lookups.count
    hits, explain = found(service, text)
    looked_up = lookups.count - before
    expected, allowed = truth(service, semantic, text)
    assert [pid for pid, _ in hits] == [pid for pid, _ in expected], text
    assert [score for _, score in hits] == pytest.approx([score for _, score in expected], abs=1e-6)
    assert f"the {allowed} allowed by" in explain or (allowed == 0 and not hits), (text, explain)
    return looked_up


@pytest.fixture
def opened(engine: Engine, tmp_path: Path) -> tuple[SearchService, SemanticSearcher]:
    store(engine, *PAPERS)
    return open_service(engine, tmp_path)


def test_a_date_filters_first_use_packs_the_snapshots_mask_without_looking_up_rows(
    opened: tuple[SearchService, SemanticSearcher], monkeypatch: pytest.MonkeyPatch
) -> None:
    service, semantic = opened
    assert base_index(semantic).rows_follow_papers()
    lookups = RowLookups(monkeypatch)
    for text in FILTERS:
        assert assert_first_use(service, semantic, text, lookups) == 0, text


def test_papers_changed_added_and_embedded_again_since_the_snapshot_keep_the_answer_exact(
    opened: tuple[SearchService, SemanticSearcher], monkeypatch: pytest.MonkeyPatch
) -> None:
    service, semantic = opened
    published = semantic.published_days()
    store(
        service.engine,
        paper(500, dt.date(2025, 3, 1)),  # new, in since:2024-01-01, embedded into the delta below
        paper(501, dt.date(2024, 5, 1)),  # new, in range, no vector yet
        revised(PAPERS[1], published=dt.date(2019, 1, 1)),  # moves out of since:, into until:
        revised(PAPERS[2], published=dt.date(2024, 2, 2), title="Quantum galaxy market"),  # moves in, embedded again
        revised(PAPERS[3], published=None),  # loses its date: passes no bound
        revised(PAPERS[6], title="Graph neural lattice revised"),  # embedded again, date kept
    )
    ids = paper_ids(service.engine)
    semantic.index_papers([ids["2601.00500"], ids["2601.00002"], ids["2601.00006"]])
    assert semantic.published_days() is published  # no new snapshot: the changes are the database's and delta's
    index = semantic.index
    assert index is not None and len(index.hidden) == 2  # the snapshot rows of the papers embedded again
    lookups = RowLookups(monkeypatch)
    for text in FILTERS:
        assert assert_first_use(service, semantic, text, lookups) == 0, text


def test_a_snapshot_whose_rows_do_not_follow_its_papers_looks_the_rows_up(
    opened: tuple[SearchService, SemanticSearcher], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, semantic = opened
    base = base_index(semantic)
    published = base.published
    assert published is not None
    # The same vectors, with the days of one paper more, the latest (as for a paper stored without a vector yet).
    extra = int(published.ids[-1]) + 1
    days = PublishedDays(
        np.append(published.ids, extra), np.append(published.days, np.max(published.days)), published.seq
    )
    other = open_mapped(base.path, base.dim, base.kind, base.config, base.ids)
    other.published = days
    assert not other.rows_follow_papers()
    since = dt.date(2024, 1, 1)
    passing = days.passing(since, None)
    selected = days.ids_at(passing)
    days.selections.remember(selected, passing)
    selected.flags.writeable = False
    query = np.array(base.stored()[0])  # a stored paper's vector as the query
    lookups = RowLookups(monkeypatch)
    got = other.nearest(query, 1000, selected)
    assert lookups.count == 1
    expected = base.nearest(query, 1000, np.array(selected))  # a writable copy: never a remembered mask
    assert got.pairs() == expected.pairs()
    assert extra in set(selected.tolist()) and extra not in set(got.ids.tolist())


def test_the_patched_mask_marks_the_patched_ids() -> None:
    ids = np.array([2, 3, 5, 8, 9, 12], dtype=np.int64)
    days = np.array([10, 20, 30, 40, 50, 60], dtype=np.int32)
    published = PublishedDays(ids, days, seq=7)
    passing = published.passing(dt.date(1970, 1, 21), dt.date(1970, 2, 20))  # days 20 to 50
    found = published.ids_at(passing)
    assert found.tolist() == [3, 5, 8, 9]
    changed = np.array([2, 5, 13], dtype=np.int64)  # 2 moved in, 5 moved out, 13 stored after the snapshot
    now_passing = np.array([2, 13], dtype=np.int64)
    patched = published.patched(passing, changed, now_passing)
    after = apply_changes(found, changed, now_passing)
    assert after.tolist() == [2, 3, 8, 9, 13]
    assert ids[patched].tolist() == [2, 3, 8, 9]  # the snapshot's papers among them, 13 having no row
    assert published.ids_at(passing).tolist() == [3, 5, 8, 9]  # the unpatched mask left as it was
