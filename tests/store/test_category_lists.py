"""Papers of one arXiv category through ``paper_categories``, on SQLite and PostgreSQL (issue 13)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, delete, select

from papertide.domain.models import Paper
from papertide.store.categories import CategorySize, count_category_papers, list_category_paper_ids
from papertide.store.engine import begin_write
from papertide.store.papers import get_paper_by_arxiv_id, get_papers, upsert_papers
from papertide.store.schema import paper_categories, papers

NOW = dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.UTC)


def _paper(arxiv_id: str, categories: tuple[str, ...], day: int, version: int = 1) -> Paper:
    return Paper(
        arxiv_id=arxiv_id,
        version=version,
        title=f"Paper {arxiv_id}",
        abstract="a",
        categories=categories,
        published=dt.date(2026, 11, day),
    )


def _listed(engine: Engine, category: str) -> list[str]:
    with engine.connect() as conn:
        ids = list_category_paper_ids(conn, category, limit=100)
        by_id = {stored.id: stored.paper.arxiv_id for stored in get_papers(conn, ids)}
    return [by_id[paper_id] for paper_id in ids]


def test_a_category_lists_its_papers_newest_first_and_not_those_of_a_longer_name(engine: Engine) -> None:
    batch = [
        _paper("2611.00011", ("cs.CL", "cs.AI"), 1),
        _paper("2611.00012", ("cs.CLX",), 2),
        _paper("2611.00013", ("math.CO", "cs.CL", "cs.CL"), 3),
    ]
    with begin_write(engine) as conn:
        upsert_papers(conn, batch, NOW)
    assert _listed(engine, "cs.CL") == ["2611.00013", "2611.00011"]
    with engine.connect() as conn:
        ids = list_category_paper_ids(conn, "cs.CL", limit=10)
        assert count_category_papers(conn, "cs.CL") == CategorySize(papers=2, more=False)
        assert count_category_papers(conn, "cs") == CategorySize(papers=0, more=False)
        assert list_category_paper_ids(conn, "cs.CL", limit=1, offset=1) == ids[1:]


def test_a_reingested_paper_whose_categories_changed_moves_between_category_lists(engine: Engine) -> None:
    with begin_write(engine) as conn:
        upsert_papers(conn, [_paper("2611.00021", ("cs.LG", "stat.ML"), 1), _paper("2611.00022", ("cs.LG",), 2)], NOW)
    with begin_write(engine) as conn:
        report = upsert_papers(conn, [_paper("2611.00021", ("math.OC",), 5, version=2)], NOW)
    assert report.updated == 1
    assert _listed(engine, "cs.LG") == ["2611.00022"]
    assert _listed(engine, "stat.ML") == []
    assert _listed(engine, "math.OC") == ["2611.00021"]
    with begin_write(engine) as conn:
        # A later version published on another day keeps its category and moves in its order.
        upsert_papers(conn, [_paper("2611.00022", ("math.OC",), 9, version=2)], NOW)
    assert _listed(engine, "math.OC") == ["2611.00022", "2611.00021"]
    with engine.connect() as conn:
        assert count_category_papers(conn, "cs.LG") == CategorySize(papers=0, more=False)


def test_an_unchanged_reingest_writes_no_category_row_twice(engine: Engine) -> None:
    batch = [_paper("2611.00031", ("hep-th", "gr-qc"), 1)]
    for _ in range(2):
        with begin_write(engine) as conn:
            upsert_papers(conn, batch, NOW)
    with engine.connect() as conn:
        rows = conn.execute(select(paper_categories.c.category).order_by(paper_categories.c.category)).scalars()
        assert list(rows) == ["gr-qc", "hep-th"]


def test_a_deleted_paper_leaves_its_category_lists(engine: Engine) -> None:
    with begin_write(engine) as conn:
        upsert_papers(conn, [_paper("2611.00041", ("cs.DB",), 1), _paper("2611.00042", ("cs.DB",), 2)], NOW)
    with begin_write(engine) as conn:
        stored = get_paper_by_arxiv_id(conn, "2611.00042")
        assert stored is not None
        conn.execute(delete(papers).where(papers.c.id == stored.id))
    assert _listed(engine, "cs.DB") == ["2611.00041"]
    with engine.connect() as conn:
        assert count_category_papers(conn, "cs.DB") == CategorySize(papers=1, more=False)


def test_counting_stops_at_the_bound_and_says_there_are_more(engine: Engine) -> None:
    with begin_write(engine) as conn:
        upsert_papers(conn, [_paper(f"2611.0005{n}", ("q-bio.NC",), n + 1) for n in range(4)], NOW)
    with engine.connect() as conn:
        assert count_category_papers(conn, "q-bio.NC", bound=3) == CategorySize(papers=3, more=True)
        assert count_category_papers(conn, "q-bio.NC", bound=4) == CategorySize(papers=4, more=False)
