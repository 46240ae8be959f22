"""What the pages show of the community around a paper: its discussion, its submitter, comment counts.

The paper page gets ``discussion_context``; paper cards call the Jinja globals ``comment_counts``
and ``submission_of``, read for every card of the page at once (web/page_cards.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from papertide.domain.accounts import User
from papertide.domain.comments import Comment, CommentCounts, CommentThread
from papertide.domain.models import StoredPaper
from papertide.domain.submissions import Submission
from papertide.services import Services
from papertide.store.comments import count_comments, list_member_comments
from papertide.store.papers import get_papers
from papertide.store.submissions import list_active_submissions, list_member_submissions
from papertide.web.page_cards import read_card_fact
from papertide.web.security import session_user

NO_COMMENTS = CommentCounts()


@dataclass(frozen=True, slots=True)
class DiscussionView:
    """A paper's discussion as the viewer sees it, and what the viewer may do there.

    ``write_block`` is why the viewer cannot write (signed out, suspended, no handle yet), or "".
    """

    threads: list[CommentThread]
    upvoted: frozenset[int]
    viewer: User | None
    write_block: str
    submission: Submission | None

    @property
    def can_write(self) -> bool:
        """Whether the comment form is shown."""
        return not self.write_block

    @property
    def count(self) -> int:
        """Comments shown (placeholders of removed comments not counted)."""
        return sum(bool(t.comment.body) + sum(bool(r.body) for r in t.replies) for t in self.threads)


def write_block(viewer: User | None) -> str:
    """Why this viewer cannot comment, in words; "" when they can."""
    if viewer is None:
        return "signed-out"
    if viewer.is_suspended:
        reason = f" Reason given: {viewer.suspension_reason}" if viewer.suspension_reason else ""
        return f"Your account is suspended: you can read but not comment, vote on comments or report.{reason}"
    if not viewer.handle:
        return "no-handle"
    return ""


def discussion_context(request: Request, services: Services, paper_id: int) -> DiscussionView:
    """Threads, the viewer's comment upvotes and the paper's active submission, for paper.html."""
    viewer = session_user(request)
    threads = services.discussion.read_threads(paper_id, viewer.id if viewer else None)
    upvoted: frozenset[int] = frozenset()
    if viewer is not None:
        ids = [t.comment.id for t in threads] + [r.id for t in threads for r in t.replies]
        upvoted = frozenset(services.discussion.read_upvoted(viewer.id, ids))
    with services.engine.connect() as conn:
        submission = list_active_submissions(conn, [paper_id]).get(paper_id)
    return DiscussionView(threads, upvoted, viewer, write_block(viewer), submission)


def comment_counts(request: Request, paper_id: int) -> CommentCounts:
    """A card's comment counts (a Jinja global): papertide's own and Hugging Face's, apart."""
    return read_card_fact(request, count_comments, paper_id) or NO_COMMENTS


def submission_of(request: Request, paper_id: int) -> Submission | None:
    """The active submission of a card's paper, for "submitted by" (a Jinja global)."""
    return read_card_fact(request, list_active_submissions, paper_id)


@dataclass(frozen=True, slots=True)
class MemberActivity:
    """The account page's community blocks: the member, their latest submissions and comments."""

    member: User
    submissions: list[Submission]
    comments: list[Comment]
    papers: dict[int, StoredPaper]


def member_activity(request: Request, limit: int = 20) -> MemberActivity | None:
    """The signed-in member's latest submissions and comments (a Jinja global; None when signed out)."""
    member = session_user(request)
    if member is None:
        return None
    with request.app.state.engine.connect() as conn:
        submissions = list_member_submissions(conn, member.id, limit=limit)
        comments = list_member_comments(conn, member.id, limit=limit)
        ids = list(dict.fromkeys([s.paper_id for s in submissions] + [c.paper_id for c in comments]))
        papers = {paper.id: paper for paper in get_papers(conn, ids)}
    return MemberActivity(member, submissions, comments, papers)
