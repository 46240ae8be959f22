"""Community upvotes: one per account per paper, with a cached count on the paper.

The ``votes`` primary key (user_id, paper_id) is what makes a vote unique; the cached
``papers.community_upvotes`` moves by exactly one only when a row really appeared or
disappeared, in the same transaction, so the two never disagree. Votes do not touch the
paper's change sequence: they change no indexed text, and reindexing on every vote would
be wasted work.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, case, delete, func, select, update

from papertide.domain.clock import as_utc
from papertide.domain.models import StoredPaper
from papertide.store.dialect import insert_if_absent
from papertide.store.papers import get_papers
from papertide.store.schema import papers, votes


@dataclass(frozen=True, slots=True)
class VoteOutcome:
    """The state after a vote request: whether the user's vote stands and the paper's total."""

    voted: bool
    changed: bool
    upvotes: int


def write_vote(conn: Connection, *, user_id: int, paper_id: int, wanted: bool, now: dt.datetime) -> VoteOutcome:
    """Make the user's vote on the paper ``wanted`` (present or absent); idempotent.

    Call inside a write transaction; the paper must exist (foreign key).
    """
    if wanted:
        changed = insert_if_absent(conn, votes, {"user_id": user_id, "paper_id": paper_id, "created_at": as_utc(now)})
        step = papers.c.community_upvotes + 1
    else:
        changed = (
            conn.execute(delete(votes).where(votes.c.user_id == user_id, votes.c.paper_id == paper_id)).rowcount == 1
        )
        step = case((papers.c.community_upvotes > 0, papers.c.community_upvotes - 1), else_=0)
    if changed:
        conn.execute(update(papers).where(papers.c.id == paper_id).values(community_upvotes=step))
    total = conn.execute(
        select(papers.c.external_upvotes + papers.c.community_upvotes).where(papers.c.id == paper_id)
    ).scalar_one()
    return VoteOutcome(voted=wanted, changed=changed, upvotes=int(total))


def has_voted(conn: Connection, user_id: int, paper_id: int) -> bool:
    """Whether the user's vote on the paper stands."""
    found = conn.execute(
        select(votes.c.paper_id).where(votes.c.user_id == user_id, votes.c.paper_id == paper_id)
    ).first()
    return found is not None


def list_voted_ids(conn: Connection, user_id: int, paper_ids: Iterable[int] | None = None) -> set[int]:
    """Ids of the papers the user upvoted, all of them or only among ``paper_ids``."""
    statement = select(votes.c.paper_id).where(votes.c.user_id == user_id)
    if paper_ids is None:
        return {int(row.paper_id) for row in conn.execute(statement)}
    wanted = list(paper_ids)
    found: set[int] = set()
    for start in range(0, len(wanted), 500):
        rows = conn.execute(statement.where(votes.c.paper_id.in_(wanted[start : start + 500])))
        found.update(int(row.paper_id) for row in rows)
    return found


def list_upvoted_papers(conn: Connection, user_id: int, *, limit: int, offset: int = 0) -> list[StoredPaper]:
    """The papers the user upvoted, most recent vote first."""
    ids = conn.execute(
        select(votes.c.paper_id)
        .where(votes.c.user_id == user_id)
        .order_by(votes.c.created_at.desc(), votes.c.paper_id.desc())
        .limit(limit)
        .offset(offset)
    ).scalars()
    return get_papers(conn, list(ids))


def count_user_votes(conn: Connection, user_id: int) -> int:
    """How many papers the user upvoted."""
    return int(conn.execute(select(func.count()).select_from(votes).where(votes.c.user_id == user_id)).scalar_one())


def count_paper_votes(conn: Connection, paper_id: int) -> int:
    """Community votes on a paper counted from the votes themselves (the cache's ground truth)."""
    return int(conn.execute(select(func.count()).select_from(votes).where(votes.c.paper_id == paper_id)).scalar_one())


def delete_user_votes(conn: Connection, user_id: int) -> int:
    """Remove the link between a leaving account and the papers it upvoted; the counts stay.

    ``papers.community_upvotes`` keeps each vote as an anonymous count: deleting an account
    erases who voted, not what the community thought (docs/community.md).
    """
    return int(conn.execute(delete(votes).where(votes.c.user_id == user_id)).rowcount)
