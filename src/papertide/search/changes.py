"""Reading the papers table for indexes kept outside the database, by the change sequence.

Every insert or change of a paper takes the next ``papers.seq`` inside the writing
transaction (store/papers.py), and writers serialise on the counter row, so rows become
visible in seq order: an index that applied everything up to seq N only needs the rows above N.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, Row, func, insert, select
from sqlalchemy.exc import IntegrityError

from papertide.store.engine import begin_write
from papertide.store.schema import index_state, papers

DATABASE_ID_KEY = "database_id"


@dataclass(frozen=True, slots=True)
class PaperText:
    """What the lexical index needs of a paper."""

    id: int
    seq: int
    title: str
    abstract: str
    authors: tuple[str, ...]
    categories: tuple[str, ...]
    published: dt.date | None


_COLUMNS = (
    papers.c.id,
    papers.c.seq,
    papers.c.title,
    papers.c.abstract,
    papers.c.authors,
    papers.c.categories,
    papers.c.published,
)


def _to_text(row: Row[*tuple[Any, ...]]) -> PaperText:
    return PaperText(
        id=int(row.id),
        seq=int(row.seq),
        title=row.title or "",
        abstract=row.abstract or "",
        authors=tuple(row.authors or ()),
        categories=tuple(row.categories or ()),
        published=row.published,
    )


# Built once: it runs before every search, and building a select costs more than running it.
_MAX_SEQ = select(func.max(papers.c.seq))


def fetch_max_seq(conn: Connection) -> int:
    """The highest change sequence number stored (0 for an empty database)."""
    return int(conn.execute(_MAX_SEQ).scalar_one_or_none() or 0)


def fetch_paper_count(conn: Connection) -> int:
    """How many papers are stored."""
    return int(conn.execute(select(func.count()).select_from(papers)).scalar_one())


def iter_changed_papers(engine: Engine, after_seq: int, batch_size: int = 2000) -> Iterator[PaperText]:
    """Papers with seq above ``after_seq`` in seq order, read in short transactions.

    Each batch is its own read so that a long rebuild never pins an old snapshot (PostgreSQL)
    or blocks a WAL checkpoint (SQLite).
    """
    cursor = after_seq
    while True:
        statement = select(*_COLUMNS).where(papers.c.seq > cursor).order_by(papers.c.seq).limit(batch_size)
        with engine.connect() as conn:
            rows = conn.execute(statement).all()
        for row in rows:
            yield _to_text(row)
        if len(rows) < batch_size:
            return
        cursor = int(rows[-1].seq)


def fetch_changed_ids(conn: Connection, after_seq: int, limit: int) -> list[int]:
    """The ids of up to ``limit`` papers changed since ``after_seq`` (seq above it), in seq order."""
    statement = select(papers.c.id).where(papers.c.seq > after_seq).order_by(papers.c.seq).limit(limit)
    return [int(paper_id) for paper_id in conn.execute(statement).scalars()]


def fetch_paper_text(conn: Connection, paper_id: int) -> PaperText | None:
    """One paper's indexed fields, or None."""
    row = conn.execute(select(*_COLUMNS).where(papers.c.id == paper_id)).first()
    return _to_text(row) if row is not None else None


def fetch_database_id(engine: Engine) -> str:
    """A random identity of this database, created once; indexes record which database they mirror.

    It tells an index built from another database (a data directory reused with a new
    ``database_url``, a restored backup of another instance) from a merely outdated one.
    """
    with engine.connect() as conn:
        value = conn.execute(select(index_state.c.value).where(index_state.c.name == DATABASE_ID_KEY)).scalar()
    if value:
        return str(value["id"])
    created = uuid.uuid4().hex
    try:
        with begin_write(engine) as conn:
            conn.execute(
                insert(index_state).values(
                    name=DATABASE_ID_KEY, value={"id": created}, updated_at=dt.datetime.now(dt.UTC)
                )
            )
    except IntegrityError:
        # Another process created it first; use theirs.
        pass
    with engine.connect() as conn:
        value = conn.execute(select(index_state.c.value).where(index_state.c.name == DATABASE_ID_KEY)).scalar_one()
    return str(value["id"])


def fetch_pending_count(conn: Connection, after_seq: int) -> int:
    """How many papers have a seq above ``after_seq`` (the work a catch-up has left)."""
    return int(conn.execute(select(func.count()).select_from(papers).where(papers.c.seq > after_seq)).scalar_one())


@dataclass(frozen=True, slots=True)
class SortKeys:
    """What sorting results by trending or by date needs of a paper."""

    upvotes: int
    listing_date: dt.date | None
    published: dt.date | None


def fetch_sort_keys(conn: Connection, paper_ids: list[int]) -> dict[int, SortKeys]:
    """Upvotes (imported and community) and dates of the given papers."""
    found: dict[int, SortKeys] = {}
    listing = func.coalesce(papers.c.listed_on, papers.c.published)
    upvotes = papers.c.external_upvotes + papers.c.community_upvotes
    for start in range(0, len(paper_ids), 500):
        chunk = paper_ids[start : start + 500]
        rows = conn.execute(select(papers.c.id, upvotes, listing, papers.c.published).where(papers.c.id.in_(chunk)))
        for paper_id, votes, listing_date, published in rows:
            found[int(paper_id)] = SortKeys(upvotes=int(votes or 0), listing_date=listing_date, published=published)
    return found
