"""Papers of one arXiv category, on SQLite and PostgreSQL (the JSON list is matched as text)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine

from papertide.domain.models import Paper
from papertide.store.categories import count_category_papers, list_category_paper_ids
from papertide.store.engine import begin_write
from papertide.store.papers import get_papers, upsert_papers

NOW = dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.UTC)


def test_a_category_lists_its_papers_newest_first_and_not_those_of_a_longer_name(engine: Engine) -> None:
    batch = [
        Paper(
            arxiv_id="2611.00011",
            title="One",
            abstract="a",
            categories=("cs.CL", "cs.AI"),
            published=dt.date(2026, 11, 1),
        ),
        Paper(arxiv_id="2611.00012", title="Two", abstract="b", categories=("cs.CLX",), published=dt.date(2026, 11, 2)),
        Paper(
            arxiv_id="2611.00013",
            title="Three",
            abstract="c",
            categories=("math.CO", "cs.CL"),
            published=dt.date(2026, 11, 3),
        ),
    ]
    with begin_write(engine) as conn:
        upsert_papers(conn, batch, NOW)
    with engine.connect() as conn:
        ids = list_category_paper_ids(conn, "cs.CL", limit=10)
        titles = [stored.paper.title for stored in sorted(get_papers(conn, ids), key=lambda s: ids.index(s.id))]
        assert titles == ["Three", "One"]
        assert count_category_papers(conn, "cs.CL") == 2
        assert count_category_papers(conn, "cs") == 0
        assert list_category_paper_ids(conn, "cs.CL", limit=1, offset=1) == ids[1:]
