"""Papers of one arXiv category (``/categories/<cat>``), newest publication first (issue 13).

``papers.categories`` is a JSON list: reading a category from it is a text scan of every paper
(9 s for one count at 1 M papers). ``paper_categories`` holds one row per (paper, category)
with the paper's ``published`` date, written by :func:`write_paper_categories` in the same
transaction as the paper (store/papers.py), so a page walks the index
``(category, published, paper_id)`` backwards and reads only the rows it shows. Deleting a paper
deletes its rows (foreign key, ON DELETE CASCADE).

Counting a large category still walks its index entries (about 0.17 µs each on SQLite: 100 ms
for cs.LG at 1 M papers, measured in docs/community.md), so pages count up to
:data:`COUNT_BOUND` and say "1,000+" beyond it instead of keeping a counter table every writer
would have to update.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, delete, func, select

from papertide.store.schema import paper_categories

# Pages count a category's papers exactly up to this many and say "more than" beyond.
COUNT_BOUND = 1000
# The column's width; longer names are no arXiv category (domain/categories.py) and are not listed.
MAX_CATEGORY_LENGTH = 64

_SQLITE_INSERT = "INSERT INTO paper_categories (paper_id, category, published) VALUES (?, ?, ?)"


@dataclass(frozen=True, slots=True)
class CategorySize:
    """How many papers a category holds: exact up to the bound asked for, ``more`` beyond it."""

    papers: int
    more: bool


def category_rows(
    papers: Iterable[tuple[int, Sequence[str], dt.date | None]],
) -> list[tuple[int, str, dt.date | None]]:
    """(paper id, category, published) rows for (paper id, categories, published): each name once."""
    rows: list[tuple[int, str, dt.date | None]] = []
    for paper_id, categories, published in papers:
        for category in dict.fromkeys(categories):
            if category and len(category) <= MAX_CATEGORY_LENGTH:
                rows.append((paper_id, category, published))
    return rows


def write_paper_categories(
    conn: Connection,
    papers: Sequence[tuple[int, Sequence[str], dt.date | None]],
    *,
    replace: bool,
) -> int:
    """Write the category rows of these (paper id, categories, published) papers in the caller's transaction.

    :param replace: delete the rows the papers had first (papers that changed); new papers have none.
    :returns: rows written.
    """
    if replace:
        ids = [paper_id for paper_id, _, _ in papers]
        for start in range(0, len(ids), 500):
            conn.execute(delete(paper_categories).where(paper_categories.c.paper_id.in_(ids[start : start + 500])))
    rows = category_rows(papers)
    if not rows:
        return 0
    if conn.dialect.name == "sqlite":
        # Straight to the driver, like new papers (store/papers.py): ISO dates as SQLAlchemy reads them.
        conn.exec_driver_sql(
            _SQLITE_INSERT,
            [
                (paper_id, category, published.isoformat() if published else None)
                for paper_id, category, published in rows
            ],
        )
    else:
        conn.execute(
            paper_categories.insert(),
            [
                {"paper_id": paper_id, "category": category, "published": published}
                for paper_id, category, published in rows
            ],
        )
    return len(rows)


def list_category_paper_ids(conn: Connection, category: str, *, limit: int, offset: int = 0) -> list[int]:
    """Ids of the papers in a category, newest publication first."""
    rows = conn.execute(
        select(paper_categories.c.paper_id)
        .where(paper_categories.c.category == category)
        .order_by(paper_categories.c.published.desc(), paper_categories.c.paper_id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [int(value) for value in rows.scalars()]


def count_category_papers(conn: Connection, category: str, *, bound: int = COUNT_BOUND) -> CategorySize:
    """How many papers a category holds, counting at most ``bound + 1`` index entries."""
    first = (
        select(paper_categories.c.paper_id).where(paper_categories.c.category == category).limit(bound + 1).subquery()
    )
    counted = int(conn.execute(select(func.count()).select_from(first)).scalar_one())
    return CategorySize(papers=min(counted, bound), more=counted > bound)
