"""A category filter's first use reads the snapshot's categories, not the allowed ids, and stays exact (issue 13).

A real database (SQLite and embedded PostgreSQL), lexical index and semantic searcher (the hashing
test model) whose snapshot keeps every paper's categories beside its publication days
(search/semantic/categories.py). Each filter of categories (a name, an archive, several, unknown,
in any case) alone or with dates is compared with the filter read from the database now and
ranked among those papers alone: after papers are added (under a name the snapshot never saw),
move between categories or lose them since the snapshot, and with a snapshot written before the
categories existed or whose categories cannot be read (both read ids as before).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine

from papertide.domain.models import Paper
from papertide.domain.query import parse_query
from papertide.search import filtered_side
from papertide.search.database_filter import compose_checked_filter, fetch_filter_ids
from papertide.search.query import SearchService
from papertide.search.request import SearchOptions, SearchRequest
from papertide.search.semantic import categories as categories_module
from papertide.search.semantic.categories import PaperCategories, compose_paper_categories
from papertide.search.semantic.days import fetch_published_days
from papertide.search.semantic.searcher import SemanticSearcher
from tests.search.search_corpus import open_hashed_stores, paper_ids, revised, store
from tests.search.snapshot_filters import QUERY, IdReads, assert_exact, current_snapshot, open_service

WORDS = ["graph", "neural", "protein", "quantum", "galaxy", "market", "lattice", "entropy", "robot", "vision"]
START = dt.date(2020, 1, 1)
NAMES = [("cs.LG",), ("cs.CV", "cs.LG"), ("stat.ML",), ("math.ST", "stat.ML"), ("CS.AI",), ()]
FILTERS = [
    "cat:cs.LG",
    "cat:cs",
    "cat:CS.lg",
    "cat:cs.ai",
    "cat:stat.ML cat:cs.CV",
    "cat:cs.LG since:2024-01-01",
    "cat:stat until:2021-06-30",
    "cat:math.ST since:2022-01-01 until:2022-12-31",
    "cat:q-bio",
    "cat:nothing.here",
]


def paper(number: int, categories: tuple[str, ...], published: dt.date | None = None) -> Paper:
    words = [WORDS[(number * 7 + i * 3) % len(WORDS)] for i in range(8)]
    return Paper(
        arxiv_id=f"2601.{number:05d}",
        title=" ".join(words[:3]).capitalize(),
        abstract=" ".join(words[3:]).capitalize() + ".",
        authors=("Ada Lovelace",),
        categories=categories,
        primary_category=categories[0] if categories else None,
        published=published if published is not None else START + dt.timedelta(days=(number * 37) % 2000),
    )


PAPERS = [paper(n, NAMES[n % len(NAMES)]) for n in range(300)] + [paper(300, ("cs.LG",), dt.date(1, 1, 1))]


@pytest.fixture
def opened(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[SearchService, SemanticSearcher]:
    """The stores, every category filter read from the snapshot however narrow (filtered_side.py ``*_SHARE``)."""
    monkeypatch.setattr(filtered_side, "SNAPSHOT_SHARE", 0.0)
    monkeypatch.setattr(filtered_side, "BITS_SNAPSHOT_SHARE", 0.0)
    store(engine, *PAPERS)
    return open_service(engine, tmp_path)


def test_a_category_filters_first_use_reads_the_snapshots_categories_and_gives_the_databases_answer(
    opened: tuple[SearchService, SemanticSearcher], monkeypatch: pytest.MonkeyPatch
) -> None:
    service, semantic = opened
    published = semantic.published_days()
    assert published is not None and published.categories is not None and published.categories.bits is not None
    reads = IdReads(monkeypatch)
    for text in FILTERS:
        assert_exact(service, semantic, text)
    assert reads.count == 0


def test_papers_added_recategorised_or_uncategorised_since_the_snapshot_are_asked_of_the_database(
    opened: tuple[SearchService, SemanticSearcher], monkeypatch: pytest.MonkeyPatch
) -> None:
    service, semantic = opened
    published = semantic.published_days()
    assert published is not None
    store(
        service.engine,
        paper(500, ("q-bio.NC", "cs.LG"), dt.date(2025, 3, 1)),  # new, under a name the snapshot never saw
        paper(501, ("stat.ML",), dt.date(2024, 5, 1)),  # new, no vector yet
        revised(PAPERS[0], categories=("math.ST",), primary_category="math.ST"),  # leaves cs.LG for math
        revised(PAPERS[2], categories=("cs.LG", "stat.ML"), primary_category="cs.LG"),  # joins cs.LG
        revised(PAPERS[1], categories=(), primary_category=None),  # loses every category
        revised(PAPERS[6], published=dt.date(2024, 6, 1)),  # moves into since:2024, categories kept
    )
    semantic.index_papers([paper_ids(service.engine)["2601.00500"]])
    assert semantic.published_days() is published  # no new snapshot: the changes are the database's alone
    assert published.categories is not None and published.categories.bits is not None  # patched as the codes were
    reads = IdReads(monkeypatch)
    for text in FILTERS:
        assert_exact(service, semantic, text)
    assert reads.count == 0


def test_more_papers_changed_since_the_snapshot_than_worth_asking_about_reads_the_ids(
    opened: tuple[SearchService, SemanticSearcher], monkeypatch: pytest.MonkeyPatch
) -> None:
    service, semantic = opened
    store(service.engine, revised(PAPERS[0], categories=("cs.CV",)), paper(502, ("cs.LG",)))
    monkeypatch.setattr("papertide.search.changed_since.CHANGED_LIMIT", 1)
    reads = IdReads(monkeypatch)
    assert_exact(service, semantic, "cat:cs.LG")
    assert reads.count == 1


def test_a_snapshot_written_before_the_categories_existed_answers_dates_and_reads_category_ids(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store(engine, *PAPERS)
    open_service(engine, tmp_path)
    snapshot = current_snapshot(tmp_path)
    meta = json.loads((snapshot / "meta.json").read_text())
    del meta[categories_module.NAMES_KEY]
    (snapshot / "meta.json").write_text(json.dumps(meta))
    for name in (categories_module.NAMES_FILE, categories_module.OFFSETS_FILE, categories_module.CODES_FILE):
        (snapshot / name).unlink()
    service, semantic = open_service(engine, tmp_path)  # nothing to embed: the old snapshot stays
    published = semantic.published_days()
    assert semantic.snapshots_written == 0 and published is not None and published.categories is None
    reads = IdReads(monkeypatch)
    for text in FILTERS:
        assert_exact(service, semantic, text)
    assert reads.count == len(FILTERS)
    assert_exact(service, semantic, "since:2024-01-01")  # the days still answer dates alone
    assert reads.count == len(FILTERS)


def test_unreadable_categories_leave_the_days_and_vectors_in_use_with_a_warning(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    store(engine, *PAPERS)
    open_service(engine, tmp_path)
    snapshot = current_snapshot(tmp_path)
    (snapshot / categories_module.CODES_FILE).write_bytes(b"not an array")
    with caplog.at_level(logging.WARNING):
        service, semantic = open_service(engine, tmp_path)
    assert semantic.index is not None and semantic.index.base is not None and semantic.caught_up == 0
    published = semantic.published_days()
    assert published is not None and published.categories is None
    assert any("categories in" in record.getMessage() for record in caplog.records)
    reads = IdReads(monkeypatch)
    assert_exact(service, semantic, "cat:cs.LG since:2024-01-01")
    assert reads.count == 1


def test_categories_of_papers_not_among_the_ids_are_left_out_and_a_paper_without_any_passes_nothing() -> None:
    ids = np.array([2, 5, 9], dtype=np.int64)
    categories = compose_paper_categories(ids, [(9, "cs.LG"), (2, "stat.ML"), (7, "cs.LG"), (9, "stat.ML")])
    assert categories.offsets.tolist() == [0, 1, 1, 3]
    assert categories.passing({"cs.LG"}).tolist() == [False, False, True]
    assert categories.passing({"stat.ML", "cs.LG"}).tolist() == [True, False, True]
    assert categories.passing(set()).tolist() == [False, False, False]


def test_categories_whose_offsets_or_codes_do_not_fit_are_refused() -> None:
    with pytest.raises(ValueError, match="do not span"):
        PaperCategories(("a",), np.array([0, 2], dtype=np.int64), np.array([0], dtype=np.int16))
    with pytest.raises(ValueError, match="outside the 1 names"):
        PaperCategories(("a",), np.array([0, 1], dtype=np.int64), np.array([1], dtype=np.int16))
    with pytest.raises(ValueError, match="not ascending"):
        PaperCategories(("a",), np.array([0, 2, 1, 2], dtype=np.int64), np.array([0, 0], dtype=np.int16))


def test_the_categories_read_for_a_snapshot_match_the_databases_filter(engine: Engine) -> None:
    store(engine, *PAPERS)
    with engine.connect() as conn:
        published = fetch_published_days(conn)
        expected = fetch_filter_ids(conn, compose_checked_filter(parse_query("cat:stat since:2021-01-01")))  # type: ignore[arg-type]
    assert published.categories is not None and published.categories.codes.dtype == np.int16
    names = {name for name in published.categories.names if name.lower().startswith("stat")}
    assert published.select(dt.date(2021, 1, 1), None, names).tolist() == expected.tolist()


def test_many_wanted_names_are_found_through_a_table_with_the_same_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    names = [f"n.{i}" for i in range(12)]
    ids = np.arange(1, 41, dtype=np.int64)
    rows = [(int(i), names[(int(i) * j) % 12]) for i in ids for j in range(1, int(i) % 3 + 1)]
    categories = compose_paper_categories(ids, rows)
    for wanted in ({"n.1"}, set(names[:10]), set(names[3:12:2]), set(names)):
        compared = categories.passing(wanted)
        monkeypatch.setattr(categories_module, "EQUALITY_CODES", 0)
        assert categories.passing(wanted).tolist() == compared.tolist()
        monkeypatch.setattr(categories_module, "EQUALITY_CODES", 100)
        expected = [any(name in wanted for pid, name in rows if pid == paper) for paper in ids.tolist()]
        assert compared.tolist() == expected


def test_a_broad_filter_with_dates_is_read_from_the_snapshot_and_one_of_categories_alone_goes_nearest_first(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from papertide.search.semantic import filtered

    store(engine, *PAPERS)
    lexical, semantic = open_hashed_stores(engine, tmp_path)
    options = SearchOptions(candidate_limit=0, similarity_floor=-1.0, max_results=200, fusion_depth=20)
    service = SearchService(engine, lexical, lambda: semantic, options)
    # A cost model that always prefers checking the nearest papers, where the filter may go there.
    monkeypatch.setattr(filtered, "NEAREST_FIRST_COST_RATIO", 0.0)
    reads = IdReads(monkeypatch)
    for text, nearest in (("cat:cs since:2020-06-01", False), ("until:2024-12-31", False), ("cat:cs", True)):
        service.allowed_cache.clear()
        page = service.search(SearchRequest(text=f"{QUERY} {text}", mode="semantic", per_page=20))
        assert any("checked on the" in line for line in page.explain) is nearest, (text, page.explain)
    assert reads.count == 0


@pytest.mark.parametrize("kept", ["bits", "codes"])
def test_a_narrow_category_filters_first_use_reads_its_ids_from_the_database_a_broader_one_from_the_snapshot(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kept: str
) -> None:
    store(engine, *PAPERS)
    service, semantic = open_service(engine, tmp_path)
    if kept == "codes":  # a snapshot written before the bits: its pass over every code costs more
        snapshot = current_snapshot(tmp_path)
        meta = json.loads((snapshot / "meta.json").read_text())
        del meta[categories_module.BITS_KEY]
        (snapshot / "meta.json").write_text(json.dumps(meta))
        service, semantic = open_service(engine, tmp_path)
    published = semantic.published_days()
    assert published is not None and published.categories is not None
    assert (published.categories.bits is not None) is (kept == "bits")
    reads = IdReads(monkeypatch)
    # Estimated shares: a third, about 9 %, about 3 %, none; SNAPSHOT_SHARE is 4 %, BITS_SNAPSHOT_SHARE 0.4 %.
    for text, from_database in (
        ("cat:cs.LG", False),
        ("cat:stat until:2021-06-30", False),
        ("cat:math.ST since:2022-01-01 until:2022-12-31", kept == "codes"),
        ("cat:q-bio", True),
        ("since:2020-03-01 until:2020-03-31", False),  # dates alone: always the snapshot's days
    ):
        before = reads.count
        assert_exact(service, semantic, text)
        assert reads.count - before == int(from_database), text


def test_the_packed_bits_give_the_codes_answer_for_several_names_prefixes_and_papers_without_categories() -> None:
    names = ["cs.LG", "cs.CV", "cs.AI", "stat.ML", "math.ST", "q-bio.NC", "hep-th"]
    ids = np.arange(3, 3 + 37, dtype=np.int64)  # 37 papers: the last packed byte is partly used
    rows = [(int(i), names[(int(i) * j) % len(names)]) for i in ids for j in range(int(i) % 4)]  # some have none
    categories = compose_paper_categories(ids, rows)
    assert categories.bits is not None and categories.bits.shape == (len(names), 5)
    codes_only = replace(categories, bits=None)
    positions = np.array([0, 1, 5, 8, 9, 17, 31, 36], dtype=np.int64)
    prefixed = {name for name in categories.names if name.startswith("cs")}
    for wanted in ({"cs.LG"}, prefixed, {"stat.ML", "math.ST", "hep-th"}, set(names), set(), {"not.kept"}):
        expected = [any(name in wanted for pid, name in rows if pid == paper) for paper in ids.tolist()]
        assert categories.passing(wanted).tolist() == codes_only.passing(wanted).tolist() == expected, wanted
        assert categories.passing_at(positions, wanted).tolist() == [expected[i] for i in positions.tolist()], wanted
        assert codes_only.passing_at(positions, wanted).tolist() == [expected[i] for i in positions.tolist()], wanted
    assert not any(categories.passing(set(names))[[i for i in range(37) if (int(ids[i]) % 4) == 0]])


def test_category_bits_of_the_wrong_shape_are_refused() -> None:
    categories = compose_paper_categories(np.array([1, 2], dtype=np.int64), [(1, "a"), (2, "b")])
    with pytest.raises(ValueError, match="category bits hold"):
        replace(categories, bits=np.zeros((2, 2), dtype=np.uint8))


def test_a_snapshot_written_before_the_category_bits_answers_from_the_codes_and_gets_them_added(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(filtered_side, "SNAPSHOT_SHARE", 0.0)
    monkeypatch.setattr(filtered_side, "BITS_SNAPSHOT_SHARE", 0.0)
    store(engine, *PAPERS)
    open_service(engine, tmp_path)
    snapshot = current_snapshot(tmp_path)
    meta = json.loads((snapshot / "meta.json").read_text())
    del meta[categories_module.BITS_KEY]
    (snapshot / "meta.json").write_text(json.dumps(meta))
    (snapshot / categories_module.BITS_FILE).unlink()
    service, semantic = open_service(engine, tmp_path)
    published = semantic.published_days()
    assert published is not None and published.categories is not None and published.categories.bits is None
    reads = IdReads(monkeypatch)
    for text in FILTERS:
        assert_exact(service, semantic, text)
    assert reads.count == 0
    # What a kept corpus's snapshot is given without a rebuild: the writer's own functions, on its own codes.
    loaded = categories_module.load_paper_categories(snapshot, meta, published.categories.papers)
    assert loaded is not None
    with_bits = loaded.with_bits()
    meta.update(categories_module.save_category_bits(snapshot, with_bits, np.save))
    (snapshot / "meta.json").write_text(json.dumps(meta))
    service, semantic = open_service(engine, tmp_path)
    published = semantic.published_days()
    assert published is not None and published.categories is not None and published.categories.bits is not None
    for text in FILTERS:
        assert_exact(service, semantic, text)
    assert reads.count == 0


@pytest.mark.parametrize("damage", ["garbage", "wrong papers"])
def test_unreadable_category_bits_leave_the_codes_in_use_with_a_warning(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, damage: str
) -> None:
    monkeypatch.setattr(filtered_side, "SNAPSHOT_SHARE", 0.0)
    monkeypatch.setattr(filtered_side, "BITS_SNAPSHOT_SHARE", 0.0)
    store(engine, *PAPERS)
    open_service(engine, tmp_path)
    snapshot = current_snapshot(tmp_path)
    if damage == "garbage":
        (snapshot / categories_module.BITS_FILE).write_bytes(b"not an array")
    else:
        np.save(snapshot / categories_module.BITS_FILE, np.zeros((3, 2), dtype=np.uint8))
    with caplog.at_level(logging.WARNING):
        service, semantic = open_service(engine, tmp_path)
    published = semantic.published_days()
    assert published is not None and published.categories is not None and published.categories.bits is None
    assert any("category bits in" in record.getMessage() for record in caplog.records)
    reads = IdReads(monkeypatch)
    for text in FILTERS:
        assert_exact(service, semantic, text)
    assert reads.count == 0
