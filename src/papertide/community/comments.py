"""Discussion on paper pages: post, reply (one level), edit, delete, upvote and report comments.

Every write runs in one transaction that first re-reads the member (a suspension applies at
once), then takes a rate-limit slot, then changes the rows: a refused request records nothing.
Comment bodies are Markdown, stored as written and rendered through domain/markdown.py.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable

from sqlalchemy import Connection, Engine

from papertide.community.guard import load_member, require_writer, take_slot
from papertide.community.policy import CommunityPolicy
from papertide.domain.accounts import User
from papertide.domain.clock import Clock, utc_now
from papertide.domain.comments import (
    Comment,
    CommentCounts,
    CommentState,
    CommentThread,
    ReactionOutcome,
    parse_comment_body,
    parse_report_reason,
)
from papertide.domain.errors import Forbidden, InvalidInput, NotFound, Suspended
from papertide.domain.markdown import count_links
from papertide.store.comments import (
    count_accepted_comments,
    count_comments,
    get_comment,
    insert_comment,
    list_member_comments,
    list_paper_comments,
    list_voted_comment_ids,
    write_comment_body,
    write_comment_deleted,
    write_comment_vote,
)
from papertide.store.engine import begin_write
from papertide.store.papers import get_papers
from papertide.store.reports import insert_report


class Discussion:
    """The comment service of one database."""

    def __init__(self, engine: Engine, policy: CommunityPolicy | None = None, clock: Clock = utc_now) -> None:
        self.engine = engine
        self.policy = policy or CommunityPolicy()
        self.clock = clock

    # --- reading ------------------------------------------------------------------------------

    def read_threads(self, paper_id: int, viewer_id: int | None = None) -> list[CommentThread]:
        """A paper's discussion as ``viewer_id`` may see it, oldest thread first.

        Moderators see everything. Others see visible comments, their own hidden ones (with
        the body, so they know what was hidden), and a deleted or hidden top-level comment
        only as an empty placeholder when it has visible replies.
        """
        with self.engine.connect() as conn:
            viewer = load_member(conn, viewer_id) if viewer_id is not None else None
            everything = list_paper_comments(conn, paper_id)
        return arrange_threads(everything, viewer)

    def count(self, paper_ids: Iterable[int]) -> dict[int, CommentCounts]:
        """Comment counts for paper cards (own and Hugging Face's, apart); papers without any are left out."""
        with self.engine.connect() as conn:
            return count_comments(conn, paper_ids)

    def read_member_comments(self, member_id: int, *, limit: int, offset: int = 0) -> list[Comment]:
        """A member's visible comments, newest first (their profile page)."""
        with self.engine.connect() as conn:
            return list_member_comments(conn, member_id, limit=limit, offset=offset)

    def read_upvoted(self, member_id: int, comment_ids: Iterable[int]) -> set[int]:
        """Which of these comments the member upvoted (to show the button pressed)."""
        with self.engine.connect() as conn:
            return list_voted_comment_ids(conn, member_id, comment_ids)

    def get(self, comment_id: int) -> Comment:
        """One comment as stored; NotFound when there is none."""
        with self.engine.connect() as conn:
            comment = get_comment(conn, comment_id)
        if comment is None:
            raise NotFound(f"no comment {comment_id}")
        return comment

    # --- writing ------------------------------------------------------------------------------

    def post(self, member_id: int, paper_id: int, body: str, *, parent_id: int | None = None) -> Comment:
        """Post a comment on a paper, or a reply to a top-level comment of the same paper.

        Raises InvalidInput (empty or too long body, too many links for a new member, a reply
        to a reply), NotFound (no such paper or parent), Suspended, ProfileRequired, RateLimited.
        """
        text = parse_comment_body(body, self.policy.comment_max_length)
        now = self.clock()
        with begin_write(self.engine) as conn:
            member = require_writer(conn, member_id)
            if not get_papers(conn, [paper_id]):
                raise NotFound(f"no paper with id {paper_id}")
            if parent_id is not None:
                self._check_parent(conn, paper_id, parent_id)
            self._check_links(conn, member, text, now)
            self._take_comment_slot(conn, member.id, now)
            comment_id = insert_comment(
                conn, paper_id=paper_id, user_id=member.id, body=text, parent_id=parent_id, now=now
            )
            return self._reload(conn, comment_id)

    def edit(self, member_id: int, comment_id: int, body: str) -> Comment:
        """Replace the body of one's own visible comment; it is marked edited."""
        text = parse_comment_body(body, self.policy.comment_max_length)
        now = self.clock()
        with begin_write(self.engine) as conn:
            member = require_writer(conn, member_id)
            comment = self._own_comment(conn, member, comment_id)
            if comment.state is not CommentState.VISIBLE:
                raise Forbidden(f"this comment is {comment.state.value} and can no longer be edited")
            self._check_links(conn, member, text, now)
            self._take_comment_slot(conn, member.id, now)
            write_comment_body(conn, comment_id, text, now)
            return self._reload(conn, comment_id)

    def delete(self, member_id: int, comment_id: int) -> Comment:
        """Delete one's own comment: its text is erased, its place kept for the replies. Idempotent."""
        now = self.clock()
        with begin_write(self.engine) as conn:
            member = require_writer(conn, member_id)
            self._own_comment(conn, member, comment_id)
            write_comment_deleted(conn, comment_id, now)
            return self._reload(conn, comment_id)

    def react(self, member_id: int, comment_id: int, *, wanted: bool = True) -> ReactionOutcome:
        """Upvote another member's visible comment (``wanted=False`` takes it back); one per member."""
        now = self.clock()
        with begin_write(self.engine) as conn:
            member = require_writer(conn, member_id)
            comment = get_comment(conn, comment_id)
            if comment is None or comment.state is not CommentState.VISIBLE:
                raise NotFound(f"no comment {comment_id} to upvote")
            if comment.author_id == member.id:
                raise Forbidden("you cannot upvote your own comment")
            take_slot(
                conn,
                f"comment-vote:user:{member.id}",
                self.policy.reactions_per_window,
                self.policy.action_window,
                now,
                "comment upvotes",
            )
            return write_comment_vote(conn, comment_id=comment_id, user_id=member.id, wanted=wanted, now=now)

    def report(self, member_id: int, comment_id: int, reason: str) -> bool:
        """Report someone else's comment to the moderators; False when this member had already reported it.

        Suspended members cannot report; a handle is not needed.
        """
        text = parse_report_reason(reason, self.policy.report_reason_max_length)
        now = self.clock()
        with begin_write(self.engine) as conn:
            member = load_member(conn, member_id)
            if member.is_suspended:
                raise Suspended("your account is suspended: you can read but not report")
            comment = get_comment(conn, comment_id)
            if comment is None or comment.state is CommentState.DELETED:
                raise NotFound(f"no comment {comment_id} to report")
            if comment.author_id == member.id:
                raise Forbidden("you cannot report your own comment; edit or delete it instead")
            take_slot(
                conn,
                f"comment-report:user:{member.id}",
                self.policy.reports_per_window,
                self.policy.action_window,
                now,
                "reports",
            )
            return insert_report(conn, comment_id=comment_id, reporter_id=member.id, reason=text, now=now)

    # --- rules --------------------------------------------------------------------------------

    def is_new_member(self, conn: Connection, member: User, now: dt.datetime) -> bool:
        """Whether the member still counts as new: a young account or few visible comments."""
        young = now - member.created_at < dt.timedelta(days=self.policy.new_member_days)
        return young or count_accepted_comments(conn, member.id) < self.policy.new_member_comments

    def _check_links(self, conn: Connection, member: User, text: str, now: dt.datetime) -> None:
        links = count_links(text)
        limit = self.policy.new_member_links
        if links > limit and not member.is_moderator and self.is_new_member(conn, member, now):
            raise InvalidInput(
                "body",
                f"new members may post at most {limit} link{'s' if limit != 1 else ''} per comment "
                f"(this one has {links}); the limit lifts after {self.policy.new_member_days} days and "
                f"{self.policy.new_member_comments} comments",
            )

    def _check_parent(self, conn: Connection, paper_id: int, parent_id: int) -> None:
        parent = get_comment(conn, parent_id)
        if parent is None or parent.paper_id != paper_id:
            raise NotFound(f"no comment {parent_id} on this paper to reply to")
        if parent.parent_id is not None:
            raise InvalidInput(
                "parent_id", "replies go one level deep: reply to the comment this reply answers instead"
            )
        if parent.state is not CommentState.VISIBLE:
            raise InvalidInput("parent_id", f"that comment is {parent.state.value}; it cannot be replied to")

    def _take_comment_slot(self, conn: Connection, member_id: int, now: dt.datetime) -> None:
        take_slot(
            conn,
            f"comment:user:{member_id}",
            self.policy.comments_per_window,
            self.policy.comment_window,
            now,
            "comments",
        )

    @staticmethod
    def _own_comment(conn: Connection, member: User, comment_id: int) -> Comment:
        comment = get_comment(conn, comment_id)
        if comment is None:
            raise NotFound(f"no comment {comment_id}")
        if comment.author_id != member.id:
            raise Forbidden("you can only change your own comments")
        return comment

    @staticmethod
    def _reload(conn: Connection, comment_id: int) -> Comment:
        comment = get_comment(conn, comment_id)
        if comment is None:  # only if deleted in the same transaction
            raise NotFound(f"no comment {comment_id}")
        return comment


def _shown(comment: Comment, viewer: User | None) -> Comment:
    """The comment as the viewer may see it: the body is withheld from hidden ones (except from their author)."""
    if comment.state is CommentState.VISIBLE or _sees_all(viewer):
        return comment
    if comment.state is CommentState.HIDDEN and viewer is not None and viewer.id == comment.author_id:
        return comment
    return dataclasses.replace(comment, body="")


def arrange_threads(comments: Iterable[Comment], viewer: User | None) -> list[CommentThread]:
    """Group comments into threads and apply what ``viewer`` may see (see Discussion.read_threads).

    For readers who are not moderators, a reply that is not visible is left out unless it is
    their own hidden one, and a top-level comment that is not visible stays only as a
    placeholder (no body) when it has replies left to show.
    """
    ordered = sorted(comments, key=lambda c: (c.created_at, c.id))
    replies: dict[int, list[Comment]] = {}
    for comment in ordered:
        if comment.parent_id is None:
            continue
        shown = _shown(comment, viewer)
        if shown.state is CommentState.VISIBLE or shown.body or _sees_all(viewer):
            replies.setdefault(comment.parent_id, []).append(shown)
    threads: list[CommentThread] = []
    for comment in ordered:
        if comment.parent_id is not None:
            continue
        shown = _shown(comment, viewer)
        answers = tuple(replies.get(comment.id, ()))
        if shown.state is not CommentState.VISIBLE and not shown.body and not answers and not _sees_all(viewer):
            continue
        threads.append(CommentThread(comment=shown, replies=answers))
    return threads


def _sees_all(viewer: User | None) -> bool:
    return viewer is not None and viewer.is_moderator
