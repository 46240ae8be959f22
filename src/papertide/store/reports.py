"""Reports of comments and the moderation queue built from them (issue 11).

One report per member per comment (the unique key); a moderator's decision resolves every
open report of the comment at once.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, Row, func, select, update

from papertide.domain.clock import as_utc
from papertide.domain.comments import CommentReport, ReportedComment, ReportResolution
from papertide.store.comments import select_comments, to_comment
from papertide.store.dialect import insert_if_absent
from papertide.store.schema import comment_reports, comments, papers


def _to_report(row: Row[Any]) -> CommentReport:
    return CommentReport(
        id=int(row.id),
        comment_id=int(row.comment_id),
        reporter_id=int(row.reporter_id),
        reason=row.reason,
        created_at=as_utc(row.created_at),
        resolved_at=as_utc(row.resolved_at) if row.resolved_at else None,
        resolved_by=row.resolved_by,
        resolution=ReportResolution(row.resolution) if row.resolution else None,
    )


def insert_report(conn: Connection, *, comment_id: int, reporter_id: int, reason: str, now: dt.datetime) -> bool:
    """Record a member's report; False when they already reported this comment."""
    return insert_if_absent(
        conn,
        comment_reports,
        {"comment_id": comment_id, "reporter_id": reporter_id, "reason": reason, "created_at": as_utc(now)},
    )


def resolve_reports(
    conn: Connection, comment_id: int, *, resolution: ReportResolution, by: int, now: dt.datetime
) -> int:
    """Close every open report of a comment with the moderator's decision; returns how many."""
    result = conn.execute(
        update(comment_reports)
        .where(comment_reports.c.comment_id == comment_id, comment_reports.c.resolved_at.is_(None))
        .values(resolved_at=as_utc(now), resolved_by=by, resolution=resolution.value)
    )
    return int(result.rowcount)


def count_open_reports(conn: Connection) -> int:
    """Comments waiting for a moderator."""
    statement = select(func.count(func.distinct(comment_reports.c.comment_id))).where(
        comment_reports.c.resolved_at.is_(None)
    )
    return int(conn.execute(statement).scalar_one())


def list_report_queue(conn: Connection, *, limit: int, offset: int = 0) -> list[ReportedComment]:
    """Reported comments with open reports, most reported first, then oldest report first."""
    open_reports = (
        select(
            comment_reports.c.comment_id,
            func.count().label("reports"),
            func.min(comment_reports.c.created_at).label("first"),
        )
        .where(comment_reports.c.resolved_at.is_(None))
        .group_by(comment_reports.c.comment_id)
        .order_by(func.count().desc(), func.min(comment_reports.c.created_at), comment_reports.c.comment_id)
        .limit(limit)
        .offset(offset)
    )
    order = [int(row.comment_id) for row in conn.execute(open_reports)]
    if not order:
        return []
    found = {
        int(row.id): row
        for row in conn.execute(
            select_comments()
            .add_columns(papers.c.arxiv_id, papers.c.title.label("paper_title"))
            .join(papers, papers.c.id == comments.c.paper_id)
            .where(comments.c.id.in_(order))
        )
    }
    reports: dict[int, list[CommentReport]] = {}
    rows = conn.execute(
        select(comment_reports)
        .where(comment_reports.c.comment_id.in_(order), comment_reports.c.resolved_at.is_(None))
        .order_by(comment_reports.c.created_at, comment_reports.c.id)
    )
    for row in rows:
        reports.setdefault(int(row.comment_id), []).append(_to_report(row))
    return [
        ReportedComment(
            comment=to_comment(found[comment_id]),
            paper_arxiv_id=found[comment_id].arxiv_id,
            paper_title=found[comment_id].paper_title,
            reports=tuple(reports.get(comment_id, ())),
        )
        for comment_id in order
        if comment_id in found
    ]
