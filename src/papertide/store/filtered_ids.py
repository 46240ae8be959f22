"""Every paper of some categories or publication dates, read from the database's indexes (issue 13).

A filtered search restricts the vector index to the papers its filter allows. For a broad filter
(cat:cs.LG passes 587,000 of a million papers) the lexical index hands its ids back at about
0.65 µs each, through one Python object per hit. The database holds the same facts in indexes:
``paper_categories (category, published, paper_id)`` and ``papers (published)`` with the id (the
SQLite rowid; on PostgreSQL, the table is read by a bitmap scan). Reading the ids as one text
aggregate (``group_concat``/``string_agg``) parsed by numpy costs about 0.2 µs an id on SQLite
(docs/search.md, "Measured"): no Python object per row.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    String,
    and_,
    bindparam,
    func,
    literal_column,
    select,
    text,
    true,
)

from papertide.store.any_of import any_of
from papertide.store.schema import paper_categories, papers

Ids = npt.NDArray[np.int64]

# The smallest category above a given one, one index probe each: a "loose index scan" that lists the
# few distinct categories (tens to ~150) without reading the million rows between them.
_DISTINCT_CATEGORIES = text(
    "WITH RECURSIVE names(name) AS ("
    " SELECT MIN(category) FROM paper_categories"
    " UNION ALL"
    " SELECT (SELECT MIN(category) FROM paper_categories WHERE category > names.name)"
    " FROM names WHERE names.name IS NOT NULL"
    ") SELECT name FROM names WHERE name IS NOT NULL"
)


def list_category_names(conn: Connection) -> list[str]:
    """Every category some paper has, as stored (not normalised), in index order."""
    return [str(name) for name in conn.execute(_DISTINCT_CATEGORIES).scalars()]


def _dated(column: Column[dt.date], since: dt.date | None, until: dt.date | None) -> ColumnElement[bool]:
    """``since <= column <= until``, each bound optional (a missing date passes no bound)."""
    bounds: list[ColumnElement[bool]] = []
    if since is not None:
        bounds.append(column >= since)
    if until is not None:
        bounds.append(column <= until)
    return and_(true(), *bounds)


def _aggregate(conn: Connection, column: Column[int], where: ColumnElement[bool]) -> Ids:
    """The ``column`` values of the rows ``where`` selects, as one space-separated text parsed by numpy."""
    if conn.dialect.name == "postgresql":
        joined = func.string_agg(column.cast(String), literal_column("' '"))
    else:
        joined = func.group_concat(column, literal_column("' '"))
    found = conn.execute(select(joined).where(where)).scalar_one_or_none()
    if not found:
        return np.zeros(0, dtype=np.int64)
    return np.fromstring(str(found), dtype=np.int64, sep=" ")


def fetch_category_paper_ids(
    conn: Connection, categories: Sequence[str], since: dt.date | None = None, until: dt.date | None = None
) -> Ids:
    """The sorted ids of the papers in any of ``categories`` (stored names, matched exactly), published in range.

    One index range per category: the plan is the same on both databases, whatever the list's length.
    """
    parts = [
        _aggregate(
            conn,
            paper_categories.c.paper_id,
            and_(paper_categories.c.category == name, _dated(paper_categories.c.published, since, until)),
        )
        for name in dict.fromkeys(categories)
    ]
    if not parts:
        return np.zeros(0, dtype=np.int64)
    # Each part is in (published, id) order; a paper in two of the categories appears twice.
    ids = np.sort(np.concatenate(parts)) if len(parts) > 1 else np.sort(parts[0])
    if len(parts) > 1 and len(ids):
        # Not np.unique: numpy 2.4's took 800 ms for the 1.2 M ids of cat:cs at 1 M papers, this 30 ms.
        ids = ids[np.concatenate(([True], ids[1:] != ids[:-1]))]
    return ids


def fetch_published_paper_ids(conn: Connection, since: dt.date | None, until: dt.date | None) -> Ids:
    """The sorted ids of the papers published from ``since`` to ``until`` (both included; one may be None)."""
    if since is None and until is None:
        raise ValueError("a publication range needs since, until or both")
    return np.sort(_aggregate(conn, papers.c.id, _dated(papers.c.published, since, until)))


def _among(conn: Connection, column: Column[int], paper_ids: Ids) -> ColumnElement[bool]:
    """``column`` is one of ``paper_ids``, as one parameter whatever their number.

    On SQLite, a JSON array read by ``json_each``: an expanding IN list of 500 ids cost more to
    compile (SQLAlchemy renders one parameter each) than the 500 primary-key probes themselves.
    """
    listed = [int(i) for i in paper_ids]
    if conn.dialect.name == "postgresql":
        return any_of(conn, column, listed)
    each = func.json_each(bindparam(None, json.dumps(listed), type_=String)).table_valued("value")
    return column.in_(select(each.c.value))


def keep_category_paper_ids(
    conn: Connection,
    paper_ids: Ids,
    categories: Sequence[str],
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> Ids:
    """Those of ``paper_ids`` in any of ``categories`` (stored names) and published in range, sorted.

    For checking a broad filter on a search's nearest papers only (search/nearest_first.py): one
    primary-key probe per (paper, category), where reading the filter's papers whole reads them all.
    """
    if not len(paper_ids) or not categories:
        return np.zeros(0, dtype=np.int64)
    column = paper_categories.c.paper_id
    where = and_(
        _among(conn, column, paper_ids),
        any_of(conn, paper_categories.c.category, list(dict.fromkeys(categories))),
        _dated(paper_categories.c.published, since, until),
    )
    found = conn.execute(select(column).where(where)).scalars().all()
    return np.unique(np.fromiter(found, dtype=np.int64, count=len(found)))


def keep_published_paper_ids(conn: Connection, paper_ids: Ids, since: dt.date | None, until: dt.date | None) -> Ids:
    """Those of ``paper_ids`` published from ``since`` to ``until`` (both included; one may be None), sorted."""
    if since is None and until is None:
        raise ValueError("a publication range needs since, until or both")
    if not len(paper_ids):
        return np.zeros(0, dtype=np.int64)
    where = and_(_among(conn, papers.c.id, paper_ids), _dated(papers.c.published, since, until))
    found = conn.execute(select(papers.c.id).where(where)).scalars().all()
    return np.unique(np.fromiter(found, dtype=np.int64, count=len(found)))


def fetch_published_span(conn: Connection) -> tuple[dt.date | None, dt.date | None]:
    """The earliest and latest publication dates stored (None: no paper has one): two index probes."""
    earliest = select(func.min(papers.c.published)).scalar_subquery()
    latest = select(func.max(papers.c.published)).scalar_subquery()
    row = conn.execute(select(earliest, latest)).one()
    return _as_date(row[0]), _as_date(row[1])


def _as_date(value: object) -> dt.date | None:
    # SQLite hands an aggregate of a date column back as text.
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))
