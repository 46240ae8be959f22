"""Paper vectors in the database: one float32 blob per paper, the source of truth for every index.

Each row records the vector space it belongs to (model and passage scheme), the ``papers.seq``
and text hash it was computed from, and a ``change_seq`` taken from the ``vector_seq`` counter
inside the writing transaction. Writers serialise on that counter row, so rows become visible
in change_seq order and an index that applied everything up to N only needs the rows above N.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, Engine, and_, delete, func, insert, or_, select, update

from papertide.domain.errors import PapertideError
from papertide.search.semantic.passages import PASSAGE_SCHEME, Vectors, compose_text_hash
from papertide.store.dialect import insert_for
from papertide.store.schema import counters, index_state, paper_vectors, papers

VECTOR_COUNTER = "vector_seq"
SPACE_STATE_KEY = "semantic_space"
_SPACE_COLUMN_WIDTH = 255

PaperIds = npt.NDArray[np.int64]


class ModelMismatch(PapertideError):
    """The stored vectors were computed with another model or passage scheme than configured."""


@dataclass(frozen=True, slots=True)
class VectorSpace:
    """What makes vectors comparable: the model, its width and how papers are cut into passages."""

    model: str
    dim: int
    scheme: str = PASSAGE_SCHEME

    @property
    def key(self) -> str:
        """The value stored in ``paper_vectors.model``."""
        key = f"{self.model}@{self.scheme}"
        if len(key) <= _SPACE_COLUMN_WIDTH:
            return key
        digest = hashlib.sha256(key.encode()).hexdigest()[:16]
        return f"{key[: _SPACE_COLUMN_WIDTH - 17]}#{digest}"

    def describe(self) -> str:
        """How the space is named in messages."""
        width = f"{self.dim} dimensions, " if self.dim else ""
        return f"model {self.model!r} ({width}passages {self.scheme})"

    def accepts(self, other: VectorSpace) -> bool:
        """Whether vectors of ``other`` are comparable with this one (a dim of 0 is not known yet)."""
        same_dim = not self.dim or not other.dim or self.dim == other.dim
        return self.model == other.model and self.scheme == other.scheme and same_dim


@dataclass(frozen=True, slots=True)
class PaperToEmbed:
    """A paper's text and the bookkeeping needed to store its vector."""

    id: int
    seq: int
    title: str
    abstract: str
    # The hash and space of the vector stored now, if any.
    stored_hash: str | None = None
    stored_space: str | None = None

    @property
    def text_hash(self) -> str:
        """Fingerprint of the text the vector is computed from."""
        return compose_text_hash(self.title, self.abstract)

    def is_current(self, space: VectorSpace) -> bool:
        """Whether the stored vector was computed from this very text in this space."""
        return self.stored_space == space.key and self.stored_hash == self.text_hash


def encode_vector(vector: Vectors) -> bytes:
    """Little-endian float32 bytes of one vector."""
    return np.asarray(vector, dtype="<f4").tobytes()


def decode_vectors(blobs: Sequence[bytes], dim: int) -> Vectors:
    """Stack stored blobs into a ``(len(blobs), dim)`` float32 matrix."""
    if not blobs:
        return np.zeros((0, dim), dtype=np.float32)
    matrix = np.frombuffer(b"".join(bytes(blob) for blob in blobs), dtype="<f4")
    return matrix.reshape(len(blobs), dim).astype(np.float32)


def _paper_columns() -> list[Any]:
    return [
        papers.c.id,
        papers.c.seq,
        papers.c.title,
        papers.c.abstract,
        paper_vectors.c.text_hash,
        paper_vectors.c.model,
    ]


def _to_paper(row: Any) -> PaperToEmbed:
    return PaperToEmbed(
        id=int(row.id),
        seq=int(row.seq),
        title=row.title or "",
        abstract=row.abstract or "",
        stored_hash=row.text_hash,
        stored_space=row.model,
    )


def _stale(space: VectorSpace) -> Any:
    return or_(
        paper_vectors.c.paper_id.is_(None),
        paper_vectors.c.seq < papers.c.seq,
        paper_vectors.c.model != space.key,
    )


def fetch_papers_to_embed(conn: Connection, space: VectorSpace | None, after_id: int, limit: int) -> list[PaperToEmbed]:
    """Papers above ``after_id``, in id order, whose vector is missing, older than the paper or of
    another space; every paper when ``space`` is None."""
    joined = papers.outerjoin(paper_vectors, paper_vectors.c.paper_id == papers.c.id)
    condition = papers.c.id > after_id
    if space is not None:
        condition = and_(condition, _stale(space))
    statement = select(*_paper_columns()).select_from(joined).where(condition).order_by(papers.c.id).limit(limit)
    return [_to_paper(row) for row in conn.execute(statement)]


def fetch_papers_by_id(conn: Connection, paper_ids: Sequence[int]) -> list[PaperToEmbed]:
    """The given papers (unknown ids left out), in id order."""
    joined = papers.outerjoin(paper_vectors, paper_vectors.c.paper_id == papers.c.id)
    found: list[PaperToEmbed] = []
    unique = sorted(set(paper_ids))
    for start in range(0, len(unique), 500):
        statement = select(*_paper_columns()).select_from(joined).where(papers.c.id.in_(unique[start : start + 500]))
        found.extend(_to_paper(row) for row in conn.execute(statement))
    return sorted(found, key=lambda paper: paper.id)


def fetch_papers_by_key(conn: Connection, arxiv_ids: Sequence[str]) -> dict[str, PaperToEmbed]:
    """The papers with these arXiv ids (unknown ones left out), by arXiv id."""
    joined = papers.outerjoin(paper_vectors, paper_vectors.c.paper_id == papers.c.id)
    found: dict[str, PaperToEmbed] = {}
    for start in range(0, len(arxiv_ids), 500):
        chunk = list(arxiv_ids[start : start + 500])
        statement = select(papers.c.arxiv_id, *_paper_columns()).select_from(joined).where(papers.c.arxiv_id.in_(chunk))
        for row in conn.execute(statement):
            found[str(row.arxiv_id)] = _to_paper(row)
    return found


def fetch_pending_count(conn: Connection, space: VectorSpace) -> int:
    """How many papers need a vector (missing, stale or of another space)."""
    joined = papers.outerjoin(paper_vectors, paper_vectors.c.paper_id == papers.c.id)
    statement = select(func.count()).select_from(joined).where(_stale(space))
    return int(conn.execute(statement).scalar_one())


def fetch_vector_stats(conn: Connection, space: VectorSpace) -> tuple[int, int]:
    """(number of vectors in ``space``, highest change_seq of any vector)."""
    count = conn.execute(
        select(func.count()).select_from(paper_vectors).where(paper_vectors.c.model == space.key)
    ).scalar_one()
    return int(count), fetch_max_change_seq(conn)


# Built once: it runs before every search, and building a select costs more than running it.
_MAX_CHANGE_SEQ = select(func.max(paper_vectors.c.change_seq))


def fetch_max_change_seq(conn: Connection) -> int:
    """The change_seq of the latest vector write (0 when none); cheap through its index."""
    return int(conn.execute(_MAX_CHANGE_SEQ).scalar_one_or_none() or 0)


def iter_vectors(
    engine: Engine, space: VectorSpace, after_change_seq: int, batch_size: int = 20_000
) -> Iterator[tuple[PaperIds, Vectors, int]]:
    """Batches of (paper ids, vectors, highest change_seq) of ``space`` written after ``after_change_seq``.

    Each batch is its own short read, so a rebuild never pins an old snapshot.
    """
    cursor = after_change_seq
    while True:
        statement = (
            select(paper_vectors.c.paper_id, paper_vectors.c.vector, paper_vectors.c.change_seq, paper_vectors.c.model)
            .where(paper_vectors.c.change_seq > cursor)
            .order_by(paper_vectors.c.change_seq)
            .limit(batch_size)
        )
        with engine.connect() as conn:
            rows = conn.execute(statement).all()
        if not rows:
            return
        cursor = int(rows[-1].change_seq)
        kept = [row for row in rows if row.model == space.key]
        ids = np.asarray([row.paper_id for row in kept], dtype=np.int64)
        yield ids, decode_vectors([row.vector for row in kept], space.dim), cursor
        if len(rows) < batch_size:
            return


def fetch_vector(conn: Connection, paper_id: int, space: VectorSpace) -> Vectors | None:
    """One paper's stored vector in ``space``, or None."""
    blob = conn.execute(
        select(paper_vectors.c.vector).where(
            and_(paper_vectors.c.paper_id == paper_id, paper_vectors.c.model == space.key)
        )
    ).scalar_one_or_none()
    return None if blob is None else decode_vectors([blob], space.dim)[0]


def _allocate_change_seq(conn: Connection, count: int) -> int:
    """Reserve ``count`` change_seq values in the caller's transaction; returns the first."""
    value = conn.execute(
        update(counters)
        .where(counters.c.name == VECTOR_COUNTER)
        .values(value=counters.c.value + count)
        .returning(counters.c.value)
    ).scalar_one_or_none()
    if value is None:
        conn.execute(insert(counters).values(name=VECTOR_COUNTER, value=count))
        value = count
    return int(value) - count + 1


def write_vectors(
    conn: Connection, space: VectorSpace, items: Sequence[tuple[PaperToEmbed, Vectors]], now: dt.datetime
) -> int:
    """Insert or replace the vectors of these papers in the caller's transaction; records the space."""
    if not items:
        return 0
    # The counter row first: it is the lock that orders concurrent writers.
    first = _allocate_change_seq(conn, len(items))
    write_space(conn, space, now)
    rows = [
        {
            "paper_id": paper.id,
            "model": space.key,
            "dim": space.dim,
            "vector": encode_vector(vector),
            "seq": paper.seq,
            "text_hash": paper.text_hash,
            "change_seq": first + offset,
        }
        for offset, (paper, vector) in enumerate(items)
    ]
    statement = insert_for(conn, paper_vectors)
    replaced = {name: statement.excluded[name] for name in ("model", "dim", "vector", "seq", "text_hash", "change_seq")}
    conn.execute(statement.on_conflict_do_update(index_elements=["paper_id"], set_=replaced), rows)
    return len(rows)


def write_current_seq(conn: Connection, items: Sequence[PaperToEmbed]) -> None:
    """Mark vectors whose text did not change as computed from the paper's current seq."""
    for paper in items:
        conn.execute(update(paper_vectors).where(paper_vectors.c.paper_id == paper.id).values(seq=paper.seq))


def fetch_space(conn: Connection) -> VectorSpace | None:
    """The vector space recorded with the stored vectors, or None before the first vector."""
    value = conn.execute(select(index_state.c.value).where(index_state.c.name == SPACE_STATE_KEY)).scalar()
    if not value:
        return None
    return VectorSpace(model=str(value["model"]), dim=int(value["dim"]), scheme=str(value["scheme"]))


def write_space(conn: Connection, space: VectorSpace, now: dt.datetime) -> None:
    """Record ``space`` as the one the vectors belong to (idempotent)."""
    value = {"model": space.model, "dim": space.dim, "scheme": space.scheme}
    if fetch_space(conn) == space:
        return
    conn.execute(delete(index_state).where(index_state.c.name == SPACE_STATE_KEY))
    conn.execute(insert(index_state).values(name=SPACE_STATE_KEY, value=value, updated_at=now))


def check_space(conn: Connection, configured: VectorSpace) -> None:
    """Raise ModelMismatch when vectors exist in another space than ``configured``."""
    recorded = fetch_space(conn)
    if recorded is None or recorded.accepts(configured):
        return
    count = conn.execute(select(func.count()).select_from(paper_vectors)).scalar_one()
    if not count:
        return
    raise ModelMismatch(
        f"the {count} stored paper vectors were computed with {recorded.describe()}, but the settings ask for "
        f"{configured.describe()}: run `papertide reindex` to embed every paper again"
    )
