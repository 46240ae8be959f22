"""Papers of one arXiv category (``/categories/<cat>``), newest publication first.

``papers.categories`` is a JSON list; both SQLite and PostgreSQL write each entry as a quoted
string, so the portable test is a LIKE on the JSON text for ``"<cat>"``. The caller must pass a
checked category (domain/categories.py: letters, digits, dots and dashes only, so no LIKE
wildcard can get in). Known limit: this reads every row; fine for tens of thousands of papers.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Connection, String, cast, func, select

from papertide.store.schema import papers


def _holds(category: str) -> ColumnElement[bool]:
    return cast(papers.c.categories, String).like(f'%"{category}"%')


def list_category_paper_ids(conn: Connection, category: str, *, limit: int, offset: int = 0) -> list[int]:
    """Ids of the papers in a category, newest publication first."""
    rows = conn.execute(
        select(papers.c.id)
        .where(_holds(category))
        .order_by(papers.c.published.desc(), papers.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [int(value) for value in rows.scalars()]


def count_category_papers(conn: Connection, category: str) -> int:
    """How many papers are in a category."""
    return int(conn.execute(select(func.count()).select_from(papers).where(_holds(category))).scalar_one())
