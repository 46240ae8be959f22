"""Comments on papers, their upvotes and the counts shown on paper cards (issue 11).

A comment is never removed as a row while the paper exists: deleting one erases its body and
keeps a tombstone, so replies keep their place; hiding one keeps the body for moderators.
The cached ``comments.upvotes`` moves by exactly one when a ``comment_votes`` row appears or
disappears, in the same transaction, as ``papers.community_upvotes`` does (store/votes.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, Row, Select, case, delete, func, select, update

from papertide.domain.clock import as_utc
from papertide.domain.comments import Comment, CommentCounts, CommentState, ReactionOutcome
from papertide.store.dialect import insert_if_absent
from papertide.store.schema import comment_votes, comments, paper_signals, users

HUGGING_FACE_SOURCE = "hf-daily"


def _shown_name(user_id: int, handle: str | None, display_name: str | None) -> str:
    if display_name:
        return display_name
    return f"@{handle}" if handle else f"member {user_id}"


def _maybe_utc(value: dt.datetime | None) -> dt.datetime | None:
    return as_utc(value) if value is not None else None


def to_comment(row: Row[Any]) -> Comment:
    """A row of ``_select()`` as a Comment."""
    return Comment(
        id=int(row.id),
        paper_id=int(row.paper_id),
        author_id=int(row.user_id),
        author_handle=row.handle,
        author_name=_shown_name(int(row.user_id), row.handle, row.display_name),
        parent_id=row.parent_id,
        body=row.body,
        state=CommentState(row.state),
        upvotes=int(row.upvotes),
        created_at=as_utc(row.created_at),
        edited_at=_maybe_utc(row.edited_at),
        hidden_at=_maybe_utc(row.hidden_at),
        hidden_by=row.hidden_by,
        deleted_at=_maybe_utc(row.deleted_at),
    )


def select_comments() -> Select[Any]:
    """Comments joined with their authors' handle and display name."""
    return select(comments, users.c.handle, users.c.display_name).join(users, users.c.id == comments.c.user_id)


def insert_comment(
    conn: Connection, *, paper_id: int, user_id: int, body: str, parent_id: int | None, now: dt.datetime
) -> int:
    """Store a new visible comment; returns its id."""
    return int(
        conn.execute(
            comments.insert()
            .values(
                paper_id=paper_id,
                user_id=user_id,
                parent_id=parent_id,
                body=body,
                state=CommentState.VISIBLE.value,
                upvotes=0,
                created_at=as_utc(now),
            )
            .returning(comments.c.id)
        ).scalar_one()
    )


def get_comment(conn: Connection, comment_id: int) -> Comment | None:
    """One comment by id, whatever its state, or None."""
    row = conn.execute(select_comments().where(comments.c.id == comment_id)).first()
    return to_comment(row) if row else None


def list_paper_comments(conn: Connection, paper_id: int) -> list[Comment]:
    """Every comment of a paper, in every state, oldest first (the caller decides what a reader sees)."""
    rows = conn.execute(
        select_comments().where(comments.c.paper_id == paper_id).order_by(comments.c.created_at, comments.c.id)
    )
    return [to_comment(row) for row in rows]


def list_member_comments(conn: Connection, user_id: int, *, limit: int, offset: int = 0) -> list[Comment]:
    """A member's visible comments, newest first (their profile page)."""
    rows = conn.execute(
        select_comments()
        .where(comments.c.user_id == user_id, comments.c.state == CommentState.VISIBLE.value)
        .order_by(comments.c.created_at.desc(), comments.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [to_comment(row) for row in rows]


def write_comment_body(conn: Connection, comment_id: int, body: str, now: dt.datetime) -> bool:
    """Replace a visible comment's body and mark it edited; False when it is not visible."""
    result = conn.execute(
        update(comments)
        .where(comments.c.id == comment_id, comments.c.state == CommentState.VISIBLE.value)
        .values(body=body, edited_at=as_utc(now))
    )
    return result.rowcount == 1


def write_comment_deleted(conn: Connection, comment_id: int, now: dt.datetime) -> bool:
    """Erase a comment's body and keep its place as a tombstone; False when already deleted."""
    result = conn.execute(
        update(comments)
        .where(comments.c.id == comment_id, comments.c.state != CommentState.DELETED.value)
        .values(state=CommentState.DELETED.value, body="", deleted_at=as_utc(now))
    )
    return result.rowcount == 1


def write_comment_hidden(conn: Connection, comment_id: int, *, hidden: bool, by: int | None, now: dt.datetime) -> bool:
    """Hide a visible comment (body kept) or show a hidden one again; True when the state changed."""
    if hidden:
        values: dict[str, Any] = {"state": CommentState.HIDDEN.value, "hidden_at": as_utc(now), "hidden_by": by}
        current = CommentState.VISIBLE
    else:
        values = {"state": CommentState.VISIBLE.value, "hidden_at": None, "hidden_by": None}
        current = CommentState.HIDDEN
    result = conn.execute(
        update(comments).where(comments.c.id == comment_id, comments.c.state == current.value).values(**values)
    )
    return result.rowcount == 1


def count_accepted_comments(conn: Connection, user_id: int) -> int:
    """A member's comments that are still visible: what "an established member" is counted by."""
    return int(
        conn.execute(
            select(func.count())
            .select_from(comments)
            .where(comments.c.user_id == user_id, comments.c.state == CommentState.VISIBLE.value)
        ).scalar_one()
    )


def write_comment_vote(
    conn: Connection, *, comment_id: int, user_id: int, wanted: bool, now: dt.datetime
) -> ReactionOutcome:
    """Make the member's upvote on a comment present or absent; idempotent, one per member per comment."""
    if wanted:
        changed = insert_if_absent(
            conn, comment_votes, {"comment_id": comment_id, "user_id": user_id, "created_at": as_utc(now)}
        )
        step = comments.c.upvotes + 1
    else:
        removed = conn.execute(
            delete(comment_votes).where(comment_votes.c.comment_id == comment_id, comment_votes.c.user_id == user_id)
        )
        changed = removed.rowcount == 1
        step = case((comments.c.upvotes > 0, comments.c.upvotes - 1), else_=0)
    if changed:
        conn.execute(update(comments).where(comments.c.id == comment_id).values(upvotes=step))
    total = conn.execute(select(comments.c.upvotes).where(comments.c.id == comment_id)).scalar_one()
    return ReactionOutcome(voted=wanted, changed=changed, upvotes=int(total))


def list_voted_comment_ids(conn: Connection, user_id: int, comment_ids: Iterable[int]) -> set[int]:
    """Which of the comments the member upvoted."""
    wanted = list(comment_ids)
    found: set[int] = set()
    for start in range(0, len(wanted), 500):
        rows = conn.execute(
            select(comment_votes.c.comment_id).where(
                comment_votes.c.user_id == user_id, comment_votes.c.comment_id.in_(wanted[start : start + 500])
            )
        )
        found.update(int(row.comment_id) for row in rows)
    return found


def count_comments(conn: Connection, paper_ids: Iterable[int]) -> dict[int, CommentCounts]:
    """Comment counts for paper cards: papertide's visible comments and Hugging Face's ``numComments``.

    Hugging Face reports a count per listing; the highest one is taken (it only grows). Papers
    without any comment are left out: callers default to ``CommentCounts()``.
    """
    wanted = sorted(set(paper_ids))
    own: dict[int, int] = {}
    external: dict[int, int] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        rows = conn.execute(
            select(comments.c.paper_id, func.count())
            .where(comments.c.paper_id.in_(chunk), comments.c.state == CommentState.VISIBLE.value)
            .group_by(comments.c.paper_id)
        )
        own.update({int(paper_id): int(count) for paper_id, count in rows})
        rows = conn.execute(
            select(paper_signals.c.paper_id, func.max(paper_signals.c.comments))
            .where(paper_signals.c.paper_id.in_(chunk), paper_signals.c.source == HUGGING_FACE_SOURCE)
            .group_by(paper_signals.c.paper_id)
        )
        external.update({int(paper_id): int(count or 0) for paper_id, count in rows})
    return {
        paper_id: CommentCounts(own=own.get(paper_id, 0), hugging_face=external.get(paper_id, 0))
        for paper_id in wanted
        if own.get(paper_id) or external.get(paper_id)
    }
