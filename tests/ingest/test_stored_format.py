"""The fast SQLite insert path stores exactly what SQLAlchemy's own types would."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import Engine, text

from papertide.domain.models import Paper
from papertide.store.engine import begin_write
from papertide.store.papers import get_paper_by_arxiv_id, upsert_papers
from papertide.store.schema import papers

NOW = dt.datetime(2026, 11, 28, 9, 30, 15, 123456, tzinfo=dt.UTC)
PAPER = Paper(
    arxiv_id="math/0601001",
    version=3,
    title="Über Gruppen",
    abstract="An abstract with code at https://github.com/example/repo.",
    authors=("C. Balázs", "Zoë O'Neil"),
    categories=("math.GR", "cs.DM"),
    primary_category="math.GR",
    published=dt.date(2006, 1, 1),
    updated=dt.date(2007, 5, 6),
    doi="10.1000/xyz",
    listed_on=dt.date(2026, 11, 27),
    external_upvotes=4,
)
COLUMNS = "published, updated, listed_on, created_at, changed_at, authors, categories"


def test_rows_inserted_in_bulk_read_back_as_the_same_paper(sqlite_engine: Engine) -> None:
    with begin_write(sqlite_engine) as conn:
        report = upsert_papers(conn, [PAPER], NOW)
    with sqlite_engine.connect() as conn:
        stored = get_paper_by_arxiv_id(conn, PAPER.arxiv_id)
    assert report.new == 1 and stored is not None
    assert stored.paper == PAPER
    assert stored.created_at is not None and stored.created_at.replace(tzinfo=dt.UTC) == NOW
    assert stored.community_upvotes == 0


def test_bulk_rows_match_the_storage_format_of_sqlalchemy_types(sqlite_engine: Engine) -> None:
    with begin_write(sqlite_engine) as conn:
        upsert_papers(conn, [PAPER], NOW)
        conn.execute(
            papers.insert().values(
                arxiv_id="2501.00001",
                version=1,
                title="t",
                abstract="a",
                authors=list(PAPER.authors),
                categories=list(PAPER.categories),
                published=PAPER.published,
                updated=PAPER.updated,
                listed_on=PAPER.listed_on,
                external_upvotes=0,
                community_upvotes=0,
                content_hash="x",
                seq=99,
                created_at=NOW,
                changed_at=NOW,
            )
        )
    with sqlite_engine.connect() as conn:
        fast, reference = conn.execute(text(f"SELECT {COLUMNS} FROM papers ORDER BY id")).all()
    assert fast[:5] == reference[:5]
    assert [json.loads(value) for value in fast[5:]] == [json.loads(value) for value in reference[5:]]
