"""Submissions: which member put a paper on which day's list (issue 11).

Listing a paper moves ``papers.listed_on`` to the day, which is what the day, week and month
lists and trending read; the submission row remembers the day it replaced so that a
moderator's removal can put it back. Listing changes no indexed text, so the paper's change
sequence is left alone (as for votes).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, Row, Select, func, select, update

from papertide.domain.clock import as_utc
from papertide.domain.submissions import Submission
from papertide.store.dialect import insert_if_absent
from papertide.store.schema import papers, submissions, users


def _select() -> Select[Any]:
    return select(submissions, users.c.handle, users.c.display_name).outerjoin(
        users, users.c.id == submissions.c.user_id
    )


def _to_submission(row: Row[Any]) -> Submission:
    name = row.display_name or (f"@{row.handle}" if row.handle else None)
    return Submission(
        id=int(row.id),
        paper_id=int(row.paper_id),
        user_id=row.user_id,
        submitter_handle=row.handle,
        submitter_name=name,
        listed_on=row.listed_on,
        previous_listed_on=row.previous_listed_on,
        created_at=as_utc(row.created_at),
        removed_at=as_utc(row.removed_at) if row.removed_at else None,
        removed_by=row.removed_by,
    )


def insert_submission(
    conn: Connection, *, paper_id: int, user_id: int, day: dt.date, previous: dt.date | None, now: dt.datetime
) -> Submission | None:
    """Record a submission for ``day``; None when the paper already has one for that day."""
    values = {
        "paper_id": paper_id,
        "user_id": user_id,
        "listed_on": day,
        "previous_listed_on": previous,
        "created_at": as_utc(now),
    }
    if not insert_if_absent(conn, submissions, values):
        return None
    return get_submission_for_day(conn, paper_id, day)


def get_submission(conn: Connection, submission_id: int) -> Submission | None:
    """One submission by id, or None."""
    row = conn.execute(_select().where(submissions.c.id == submission_id)).first()
    return _to_submission(row) if row else None


def get_submission_for_day(conn: Connection, paper_id: int, day: dt.date) -> Submission | None:
    """The paper's submission for a day (removed or not), or None."""
    row = conn.execute(_select().where(submissions.c.paper_id == paper_id, submissions.c.listed_on == day)).first()
    return _to_submission(row) if row else None


def list_active_submissions(conn: Connection, paper_ids: Iterable[int]) -> dict[int, Submission]:
    """For each paper, its latest submission not removed ("submitted by" on cards); others left out."""
    wanted = sorted(set(paper_ids))
    found: dict[int, Submission] = {}
    for start in range(0, len(wanted), 500):
        rows = conn.execute(
            _select()
            .where(submissions.c.paper_id.in_(wanted[start : start + 500]), submissions.c.removed_at.is_(None))
            .order_by(submissions.c.listed_on)
        )
        for row in rows:
            found[int(row.paper_id)] = _to_submission(row)
    return found


def list_member_submissions(conn: Connection, user_id: int, *, limit: int, offset: int = 0) -> list[Submission]:
    """A member's submissions not removed, newest first (their profile page)."""
    rows = conn.execute(
        _select()
        .where(submissions.c.user_id == user_id, submissions.c.removed_at.is_(None))
        .order_by(submissions.c.created_at.desc(), submissions.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [_to_submission(row) for row in rows]


def count_member_submissions(conn: Connection, user_id: int, day: dt.date) -> int:
    """Submissions a member made for a day's list, removed ones included (the daily limit counts them)."""
    statement = select(func.count()).where(submissions.c.user_id == user_id, submissions.c.listed_on == day)
    return int(conn.execute(statement).scalar_one())


def write_listing_date(conn: Connection, paper_id: int, day: dt.date | None) -> None:
    """Put a paper on a day's list (None: back to its publication day)."""
    conn.execute(update(papers).where(papers.c.id == paper_id).values(listed_on=day))


def write_submission_removed(conn: Connection, submission_id: int, *, by: int | None, now: dt.datetime) -> bool:
    """Mark a submission removed; False when it already was."""
    result = conn.execute(
        update(submissions)
        .where(submissions.c.id == submission_id, submissions.c.removed_at.is_(None))
        .values(removed_at=as_utc(now), removed_by=by)
    )
    return result.rowcount == 1
