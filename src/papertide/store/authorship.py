"""Who wrote what, by normalised author key: the table behind author pages (issue 11).

``paper_authors`` is derived from ``papers.authors`` and kept in step the way the search
indexes are: every change of a paper takes the next ``papers.seq`` and writers serialise on
that counter, so rows become visible in seq order, and applying the papers above the last
applied seq (kept in the ``authorship_seq`` counter) catches up exactly. The ingest pipeline
calls :func:`catch_up_authorship` every ``AUTHORSHIP_EVERY`` changed papers and at the end of each
run (ingest/pipeline.py); submissions call it at once. It is cheap when nothing is pending.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, Engine, delete, func, select, update
from sqlalchemy.orm import aliased

from papertide.domain.authors import Coauthor, NameForms, group_name_forms, parse_author_name
from papertide.store.engine import begin_write
from papertide.store.schema import counters, paper_authors, papers

COUNTER = "authorship_seq"
MAX_NAME_LENGTH = 300
_CHUNK = 5000


def _applied_seq(conn: Connection) -> int:
    """The last applied seq, read with a row lock (PostgreSQL) so two catch-ups run one after the other."""
    value = conn.execute(
        update(counters).where(counters.c.name == COUNTER).values(value=counters.c.value).returning(counters.c.value)
    ).scalar_one_or_none()
    if value is None:
        conn.execute(counters.insert().values(name=COUNTER, value=0))
        return 0
    return int(value)


def write_authorship(conn: Connection, rows: Sequence[tuple[int, Sequence[str]]]) -> int:
    """Replace the author rows of these (paper id, authors) pairs; returns how many rows were written."""
    if not rows:
        return 0
    ids = [paper_id for paper_id, _ in rows]
    for start in range(0, len(ids), 500):
        conn.execute(delete(paper_authors).where(paper_authors.c.paper_id.in_(ids[start : start + 500])))
    values = []
    for paper_id, authors in rows:
        for position, name in enumerate(authors):
            parsed = parse_author_name(name)
            if parsed.key:
                values.append((parsed.key, paper_id, position, parsed.name[:MAX_NAME_LENGTH]))
    # In the order of ix_paper_authors_author_key: names are random to that index, so in the papers' order
    # each row lands on another leaf page and a transaction loads and writes back a page per row; sorted,
    # each page the rows land on is loaded and written once (ingest, issue 13).
    values.sort()
    # Straight to the driver's executemany: SQLAlchemy's per-row parameter processing cost more than the
    # insert (ingest, issue 13: authorship was 42 % of a snapshot's CPU, 7.1 of 16.9 s for 50,000 papers).
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = f"INSERT INTO {paper_authors.name} (author_key, paper_id, position, name) VALUES ({', '.join([mark] * 4)})"
    for start in range(0, len(values), _CHUNK):
        conn.exec_driver_sql(sql, values[start : start + _CHUNK])
    return len(values)


def catch_up_authorship(engine: Engine, *, batch_size: int = 2000) -> int:
    """Apply every paper changed since the last catch-up, ``batch_size`` papers a transaction; returns how many."""
    applied = 0
    while True:
        with begin_write(engine) as conn:
            after = _applied_seq(conn)
            batch = conn.execute(
                select(papers.c.id, papers.c.seq, papers.c.authors)
                .where(papers.c.seq > after)
                .order_by(papers.c.seq)
                .limit(batch_size)
            ).all()
            if not batch:
                return applied
            write_authorship(conn, [(int(row.id), list(row.authors or ())) for row in batch])
            conn.execute(update(counters).where(counters.c.name == COUNTER).values(value=int(batch[-1].seq)))
        applied += len(batch)


def list_author_paper_ids(conn: Connection, author_key: str, *, limit: int, offset: int = 0) -> list[int]:
    """Ids of an author's papers, newest publication first."""
    rows = conn.execute(
        select(papers.c.id)
        .where(papers.c.id.in_(select(paper_authors.c.paper_id).where(paper_authors.c.author_key == author_key)))
        .order_by(papers.c.published.desc(), papers.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [int(value) for value in rows.scalars()]


def count_author_papers(conn: Connection, author_key: str) -> int:
    """How many papers an author key has."""
    statement = select(func.count(func.distinct(paper_authors.c.paper_id))).where(
        paper_authors.c.author_key == author_key
    )
    return int(conn.execute(statement).scalar_one())


def read_name_forms(conn: Connection, author_key: str) -> NameForms:
    """The written forms of an author key, most frequent first, and whether they collide."""
    rows = conn.execute(
        select(paper_authors.c.name, func.count())
        .where(paper_authors.c.author_key == author_key)
        .group_by(paper_authors.c.name)
    )
    names: list[str] = []
    for name, count in rows:
        names.extend([str(name)] * int(count))
    return group_name_forms(names, author_key)


def list_coauthors(conn: Connection, author_key: str, *, limit: int) -> list[Coauthor]:
    """The author's most frequent co-authors: key, one written form and the number of joint papers."""
    mine = aliased(paper_authors)
    theirs = aliased(paper_authors)
    joint = func.count(func.distinct(theirs.c.paper_id))
    rows = conn.execute(
        select(theirs.c.author_key, func.min(theirs.c.name), joint)
        .join(mine, mine.c.paper_id == theirs.c.paper_id)
        .where(mine.c.author_key == author_key, theirs.c.author_key != author_key)
        .group_by(theirs.c.author_key)
        .order_by(joint.desc(), theirs.c.author_key)
        .limit(limit)
    )
    return [Coauthor(author_key=str(key), name=str(name), papers=int(count)) for key, name, count in rows]
