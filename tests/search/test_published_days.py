"""A date filter's first use reads the snapshot's publication days, not the allowed ids, and stays exact (issue 13).

A real database (SQLite and embedded PostgreSQL), lexical index and semantic searcher (the hashing
test model) whose snapshot keeps every paper's publication day (search/semantic/days.py). Each
date filter's results are compared with the filter read from the database now and ranked among
those papers alone: after papers are added, moved into or out of the range, or lose their date
since the snapshot, and with a snapshot written before the days existed (which reads ids as before).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine

from papertide.domain.models import Paper
from papertide.search.query import SearchService
from papertide.search.semantic import days as days_module
from papertide.search.semantic.days import NO_DAY, PublishedDays, fetch_published_days
from papertide.search.semantic.searcher import SemanticSearcher
from papertide.search.semantic.snapshot import POINTER
from papertide.store.filtered_ids import fetch_published_paper_ids
from tests.search.search_corpus import paper_ids, revised, store
from tests.search.snapshot_filters import IdReads, assert_exact, open_service

WORDS = ["graph", "neural", "protein", "quantum", "galaxy", "market", "lattice", "entropy", "robot", "vision"]
START = dt.date(2020, 1, 1)
FILTERS = ["since:2024-01-01", "until:2021-06-30", "since:2022-01-01 until:2022-12-31", "since:2030-01-01"]


def paper(number: int, published: dt.date | None) -> Paper:
    words = [WORDS[(number * 7 + i * 3) % len(WORDS)] for i in range(8)]
    return Paper(
        arxiv_id=f"2601.{number:05d}",
        title=" ".join(words[:3]).capitalize(),
        abstract=" ".join(words[3:]).capitalize() + ".",
        authors=("Ada Lovelace",),
        categories=("cs.LG",),
        primary_category="cs.LG",
        published=published,
    )


PAPERS = [paper(n, START + dt.timedelta(days=(n * 37) % 2000)) for n in range(400)] + [paper(400, None)]


@pytest.fixture
def opened(engine: Engine, tmp_path: Path) -> tuple[SearchService, SemanticSearcher]:
    store(engine, *PAPERS)
    return open_service(engine, tmp_path)


def test_a_date_filters_first_use_reads_the_snapshots_days_and_gives_the_databases_answer(
    opened: tuple[SearchService, SemanticSearcher], monkeypatch: pytest.MonkeyPatch
) -> None:
    service, semantic = opened
    assert semantic.published_days() is not None
    reads = IdReads(monkeypatch)
    for text in FILTERS:
        assert_exact(service, semantic, text)
    assert reads.count == 0


def test_papers_added_moved_or_undated_since_the_snapshot_are_asked_of_the_database(
    opened: tuple[SearchService, SemanticSearcher], monkeypatch: pytest.MonkeyPatch
) -> None:
    service, semantic = opened
    published = semantic.published_days()
    assert published is not None
    store(
        service.engine,
        paper(500, dt.date(2025, 3, 1)),  # new, in since:2024-01-01, embedded into the delta below
        paper(501, dt.date(2024, 5, 1)),  # new, in range, no vector yet
        revised(PAPERS[1], published=dt.date(2019, 1, 1)),  # moves out of since:, into until:
        revised(PAPERS[2], published=dt.date(2024, 2, 2)),  # moves into since:
        revised(PAPERS[3], published=None),  # loses its date: passes no bound
        revised(PAPERS[4], title="Graph neural lattice revised"),  # changed, date kept
    )
    semantic.index_papers([paper_ids(service.engine)["2601.00500"]])
    assert semantic.published_days() is published  # no new snapshot: the changes are the database's alone
    reads = IdReads(monkeypatch)
    for text in FILTERS:
        assert_exact(service, semantic, text)
    assert reads.count == 0


def test_more_papers_changed_since_the_snapshot_than_worth_asking_about_reads_the_ids(
    opened: tuple[SearchService, SemanticSearcher], monkeypatch: pytest.MonkeyPatch
) -> None:
    service, semantic = opened
    store(service.engine, revised(PAPERS[5], published=dt.date(2025, 1, 1)), paper(502, dt.date(2025, 1, 2)))
    monkeypatch.setattr("papertide.search.changed_since.CHANGED_LIMIT", 1)
    reads = IdReads(monkeypatch)
    assert_exact(service, semantic, "since:2024-01-01")
    assert reads.count == 1


def test_a_snapshot_written_before_the_days_existed_reads_the_ids_as_before(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store(engine, *PAPERS)
    open_service(engine, tmp_path)
    snapshot = tmp_path / "vectors" / json.loads((tmp_path / "vectors" / POINTER).read_text())["snapshot"]
    meta = json.loads((snapshot / "meta.json").read_text())
    del meta[days_module.SEQ_KEY]
    (snapshot / "meta.json").write_text(json.dumps(meta))
    (snapshot / days_module.IDS_FILE).unlink()
    (snapshot / days_module.DAYS_FILE).unlink()
    service, semantic = open_service(engine, tmp_path)  # nothing to embed: the old snapshot stays
    assert semantic.snapshots_written == 0 and semantic.published_days() is None
    reads = IdReads(monkeypatch)
    for text in FILTERS:
        assert_exact(service, semantic, text)
    assert reads.count == len(FILTERS)


def test_unreadable_days_leave_the_snapshots_vectors_in_use_and_date_filters_read_ids(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store(engine, *PAPERS)
    open_service(engine, tmp_path)
    snapshot = tmp_path / "vectors" / json.loads((tmp_path / "vectors" / POINTER).read_text())["snapshot"]
    (snapshot / days_module.DAYS_FILE).write_bytes(b"not an array")
    service, semantic = open_service(engine, tmp_path)
    assert semantic.index is not None and semantic.index.base is not None and semantic.caught_up == 0
    assert semantic.published_days() is None
    reads = IdReads(monkeypatch)
    assert_exact(service, semantic, "since:2024-01-01")
    assert reads.count == 1


def test_a_range_over_the_days_passes_no_paper_without_a_date_and_includes_both_ends() -> None:
    published = PublishedDays(
        np.array([1, 2, 3, 4], dtype=np.int64),
        np.array([days_module.day_number(dt.date(2024, 1, 1)), NO_DAY, 0, 10000], dtype=np.int32),
        seq=7,
    )
    assert published.select(dt.date(2024, 1, 1), None).tolist() == [1]
    assert published.select(None, dt.date(2024, 1, 1)).tolist() == [1, 3, 4]
    assert published.select(dt.date(1, 1, 1), dt.date(9999, 12, 31)).tolist() == [1, 3, 4]
    with pytest.raises(ValueError, match="since, until or both"):
        published.select(None, None)
    # Ids with gaps (the rows are looked up, not computed from the first id): the same answers.
    gapped = dataclasses.replace(published, ids=np.array([1, 2, 5, 9], dtype=np.int64))
    assert gapped.select(dt.date(2024, 1, 1), None).tolist() == [1]
    assert gapped.select(None, dt.date(2024, 1, 1)).tolist() == [1, 5, 9]
    assert gapped.keep(np.array([2, 5, 6, 9]), None, dt.date(2024, 1, 1)).tolist() == [5, 9]
    assert published.keep(np.array([2, 3, 4, 5]), None, dt.date(2024, 1, 1)).tolist() == [3, 4]


def test_the_days_read_for_a_snapshot_match_the_papers_table(engine: Engine) -> None:
    store(engine, *PAPERS)
    with engine.connect() as conn:
        published = fetch_published_days(conn)
        since = fetch_published_paper_ids(conn, dt.date(2023, 1, 1), None)
    assert published.ids.tolist() == sorted(paper_ids(engine).values())
    assert published.select(dt.date(2023, 1, 1), None).tolist() == since.tolist()
    assert int((published.days == NO_DAY).sum()) == 1
