"""Migration 0008 fills ``paper_categories`` from the papers an installation already holds (issue 13)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, insert, inspect, select

from papertide.store.categories import CategorySize, count_category_papers, list_category_paper_ids
from papertide.store.engine import begin_write
from papertide.store.migrate import current_revision, downgrade_database, head_revision, upgrade_database
from papertide.store.schema import paper_categories, papers

NOW = dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.UTC)
BEFORE = "0007_ingest_run_owner"


def _row(number: int, categories: list[str], day: int | None) -> dict[str, object]:
    return {
        "arxiv_id": f"2611.0{number:04d}",
        "version": 1,
        "title": f"Paper {number}",
        "abstract": "a",
        "authors": [],
        "categories": categories,
        "published": dt.date(2026, 11, day) if day else None,
        "external_upvotes": 0,
        "community_upvotes": 0,
        "content_hash": "h" * 64,
        "seq": number,
        "created_at": NOW,
        "changed_at": NOW,
    }


def test_upgrading_an_installation_with_papers_backfills_their_categories(engine: Engine) -> None:
    downgrade_database(engine, BEFORE)
    assert "paper_categories" not in inspect(engine).get_table_names()
    with begin_write(engine) as conn:
        conn.execute(
            insert(papers),
            [
                _row(1, ["cs.LG", "stat.ML"], 1),
                _row(2, ["cs.LG", "cs.LG", ""], 3),  # a name twice and an empty one, as hand-made data may hold
                _row(3, ["x" * 65, "math.AG"], 2),  # longer than the column: no category, left out
                _row(4, [], 4),
                _row(5, ["cs.LG"], None),
            ],
        )
    upgrade_database(engine)
    with engine.connect() as conn:
        rows = conn.execute(select(paper_categories.c.category, papers.c.arxiv_id).join(papers)).all()
        assert sorted((str(category), str(arxiv_id)) for category, arxiv_id in rows) == [
            ("cs.LG", "2611.00001"),
            ("cs.LG", "2611.00002"),
            ("cs.LG", "2611.00005"),
            ("math.AG", "2611.00003"),
            ("stat.ML", "2611.00001"),
        ]
        ids = list_category_paper_ids(conn, "cs.LG", limit=10)
        order = dict(conn.execute(select(papers.c.id, papers.c.arxiv_id).where(papers.c.id.in_(ids))).all())
        dated = [order[paper_id] for paper_id in ids if order[paper_id] != "2611.00005"]
        assert dated == ["2611.00002", "2611.00001"]
        assert count_category_papers(conn, "cs.LG") == CategorySize(papers=3, more=False)
    assert current_revision(engine) == head_revision()


def test_downgrading_past_0008_drops_the_table_and_upgrading_again_refills_it(engine: Engine) -> None:
    with begin_write(engine) as conn:
        conn.execute(insert(papers), [_row(1, ["hep-th"], 1)])
    downgrade_database(engine, BEFORE)
    assert "paper_categories" not in inspect(engine).get_table_names()
    upgrade_database(engine)
    with engine.connect() as conn:
        assert count_category_papers(conn, "hep-th") == CategorySize(papers=1, more=False)
