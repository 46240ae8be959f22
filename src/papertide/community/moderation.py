"""Moderation: the queue of reported comments, hiding and deleting them, suspending members,
and removing submissions (issue 11).

Every action re-reads the acting member and requires the moderator or admin role. A moderator
may suspend members; only an admin may suspend a moderator; admins are suspended only by the
operator (``papertide users suspend``).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, Engine

from papertide.community.guard import load_member, require_moderator
from papertide.domain.accounts import Role, User
from papertide.domain.clock import Clock, utc_now
from papertide.domain.comments import Comment, ReportedComment, ReportResolution
from papertide.domain.errors import Forbidden, InvalidInput, NotFound
from papertide.domain.members import single_line_problem
from papertide.domain.submissions import Submission
from papertide.store.comments import get_comment, write_comment_deleted, write_comment_hidden
from papertide.store.engine import begin_write
from papertide.store.members import clear_suspension, write_suspension
from papertide.store.papers import get_papers
from papertide.store.reports import count_open_reports, list_report_queue, resolve_reports
from papertide.store.submissions import get_submission, write_listing_date, write_submission_removed
from papertide.store.votes import write_vote

REASON_MAX = 500


def parse_suspension_reason(raw: str) -> str:
    """A suspension's reason, shown to the member: one line, at most 500 characters (may be empty)."""
    text = raw if isinstance(raw, str) else ""
    problem = single_line_problem(text)
    if problem:
        raise InvalidInput("reason", problem)
    text = " ".join(text.split())
    if len(text) > REASON_MAX:
        raise InvalidInput("reason", f"must be at most {REASON_MAX} characters, got {len(text)}")
    return text


def check_may_suspend(actor: User | None, target: User) -> None:
    """Raise Forbidden unless ``actor`` (None: the operator) may suspend ``target``."""
    if actor is None:
        return
    if actor.id == target.id:
        raise Forbidden("you cannot suspend yourself")
    if target.role is Role.ADMIN or (target.role is Role.MODERATOR and actor.role is not Role.ADMIN):
        raise Forbidden(f"a {actor.role.value} cannot suspend a {target.role.value}")


def remove_submission_row(conn: Connection, submission: Submission, by: int | None, now: dt.datetime) -> bool:
    """Take a submission off its day's list in the caller's transaction.

    The paper goes back to the listing day it had before (or its publication day) when it is
    still listed on the submission's day, and the submitter's upvote, which the submission
    gave, is taken back.
    """
    if not write_submission_removed(conn, submission.id, by=by, now=now):
        return False
    found = get_papers(conn, [submission.paper_id])
    if found and found[0].paper.listed_on == submission.listed_on:
        write_listing_date(conn, submission.paper_id, submission.previous_listed_on)
    if submission.user_id is not None:
        write_vote(conn, user_id=submission.user_id, paper_id=submission.paper_id, wanted=False, now=now)
    return True


class Moderation:
    """Moderators' actions on one database."""

    def __init__(self, engine: Engine, clock: Clock = utc_now) -> None:
        self.engine = engine
        self.clock = clock

    def read_queue(self, moderator_id: int, *, limit: int = 50, offset: int = 0) -> list[ReportedComment]:
        """Reported comments with open reports, most reported first."""
        with self.engine.connect() as conn:
            require_moderator(conn, moderator_id)
            return list_report_queue(conn, limit=limit, offset=offset)

    def count_open(self, moderator_id: int) -> int:
        """How many reported comments wait for a decision."""
        with self.engine.connect() as conn:
            require_moderator(conn, moderator_id)
            return count_open_reports(conn)

    def hide_comment(self, moderator_id: int, comment_id: int) -> Comment:
        """Hide a comment from readers (its text is kept) and close its reports as "hidden"."""
        return self._decide(moderator_id, comment_id, ReportResolution.HIDDEN)

    def delete_comment(self, moderator_id: int, comment_id: int) -> Comment:
        """Erase a comment's text and close its reports as "deleted"."""
        return self._decide(moderator_id, comment_id, ReportResolution.DELETED)

    def dismiss_reports(self, moderator_id: int, comment_id: int) -> Comment:
        """Keep the comment as it is and close its reports as "dismissed"."""
        return self._decide(moderator_id, comment_id, ReportResolution.DISMISSED)

    def unhide_comment(self, moderator_id: int, comment_id: int) -> Comment:
        """Show a hidden comment again."""
        now = self.clock()
        with begin_write(self.engine) as conn:
            require_moderator(conn, moderator_id)
            self._comment(conn, comment_id)
            write_comment_hidden(conn, comment_id, hidden=False, by=None, now=now)
            return self._comment(conn, comment_id)

    def suspend_member(self, moderator_id: int, member_id: int, reason: str = "") -> bool:
        """Suspend a member (they can read, not write); False when they already were."""
        text = parse_suspension_reason(reason)
        now = self.clock()
        with begin_write(self.engine) as conn:
            actor = require_moderator(conn, moderator_id)
            target = load_member(conn, member_id)
            check_may_suspend(actor, target)
            return write_suspension(conn, member_id, reason=text, now=now)

    def unsuspend_member(self, moderator_id: int, member_id: int) -> bool:
        """Lift a suspension; False when the member was not suspended."""
        with begin_write(self.engine) as conn:
            actor = require_moderator(conn, moderator_id)
            target = load_member(conn, member_id)
            check_may_suspend(actor, target)
            return clear_suspension(conn, member_id)

    def remove_submission(self, moderator_id: int, submission_id: int) -> bool:
        """Take a submission off its day's list (see ``remove_submission_row``); False when already removed."""
        now = self.clock()
        with begin_write(self.engine) as conn:
            require_moderator(conn, moderator_id)
            submission = get_submission(conn, submission_id)
            if submission is None:
                raise NotFound(f"no submission {submission_id}")
            return remove_submission_row(conn, submission, moderator_id, now)

    def _decide(self, moderator_id: int, comment_id: int, resolution: ReportResolution) -> Comment:
        now = self.clock()
        with begin_write(self.engine) as conn:
            require_moderator(conn, moderator_id)
            self._comment(conn, comment_id)
            if resolution is ReportResolution.HIDDEN:
                write_comment_hidden(conn, comment_id, hidden=True, by=moderator_id, now=now)
            elif resolution is ReportResolution.DELETED:
                write_comment_deleted(conn, comment_id, now)
            resolve_reports(conn, comment_id, resolution=resolution, by=moderator_id, now=now)
            return self._comment(conn, comment_id)

    @staticmethod
    def _comment(conn: Connection, comment_id: int) -> Comment:
        comment = get_comment(conn, comment_id)
        if comment is None:
            raise NotFound(f"no comment {comment_id}")
        return comment
