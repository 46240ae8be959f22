"""The community API: a paper's comments, posting one, submitting a paper, and the session it needs.

**Authentication (decision)**: the API uses the site's session cookie, like the pages, plus the
CSRF token in an ``X-CSRF-Token`` header on every POST. A script signs in once through the
emailed link, then reads the token from ``GET /api/v1/session``. No API tokens exist: one way
in, one set of limits, one suspension switch. Errors are ``{"detail": ...}`` with the status of
``web/problems.py`` (401 signed out, 403 suspended or not yours, 404, 422, 429 with
Retry-After, 503 arXiv down).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from papertide.domain.comments import Comment, CommentThread
from papertide.domain.limits import MAX_ROW_ID
from papertide.domain.submissions import Submission
from papertide.web.deps import ConnDep, ServicesDep
from papertide.web.error_model import documented
from papertide.web.paper_lookup import fetch_paper
from papertide.web.routes.api.models import compose_paper_url
from papertide.web.security import CsrfDep, OptionalUserDep, UserDep, csrf_token

router = APIRouter(tags=["community"])
ERRORS = documented(401, 403, 404, 429)


class MemberOut(BaseModel):
    """A member as others see them."""

    handle: str | None
    display_name: str
    url: str | None = Field(description="The member's page, /u/<handle>.")


class SubmitterOut(MemberOut):
    """Who put a paper on a day's list."""

    listed_on: dt.date


class CommentOut(BaseModel):
    """One comment: ``body`` is the Markdown as written, ``body_html`` the sanitised rendering."""

    id: int
    parent_id: int | None
    author: MemberOut
    state: str = Field(description="visible, hidden or deleted (hidden and deleted ones have an empty body).")
    body: str
    body_html: str
    upvotes: int
    created_at: dt.datetime
    edited_at: dt.datetime | None
    url: str


class ThreadOut(BaseModel):
    """A top-level comment and its replies, oldest first."""

    comment: CommentOut
    replies: list[CommentOut]


class CommentsOut(BaseModel):
    """A paper's discussion as the caller may see it."""

    arxiv_id: str
    count: int = Field(description="Visible comments and replies on papertide.")
    hugging_face_count: int = Field(description="Hugging Face's numComments, kept apart.")
    threads: list[ThreadOut]


class CommentIn(BaseModel):
    """A new comment, or a reply to a top-level comment."""

    body: Annotated[str, Field(max_length=100_000)]
    parent_id: Annotated[int | None, Field(ge=1, le=MAX_ROW_ID)] = None


class SubmissionIn(BaseModel):
    """An arXiv id or URL (abs, pdf, any version; Hugging Face paper URLs too)."""

    arxiv_id: Annotated[str, Field(max_length=500)]


class SubmissionOut(BaseModel):
    """What a submission did: the rule that applied and a sentence saying so."""

    rule: str = Field(description="listed-new, listed, relisted, already-today or too-old.")
    message: str
    listed_today: bool
    arxiv_id: str
    url: str
    listed_on: dt.date | None


class SessionOut(BaseModel):
    """The caller's session and the CSRF token its POSTs must send as X-CSRF-Token."""

    signed_in: bool
    member: MemberOut | None
    csrf_token: str


def member_out(handle: str | None, name: str | None) -> MemberOut:
    """A member reference with a link to their page when they have a handle."""
    return MemberOut(handle=handle, display_name=name or handle or "member", url=f"/u/{handle}" if handle else None)


def submitter_out(submission: Submission | None) -> SubmitterOut | None:
    """``submitted_by`` of the paper API (None when nobody submitted it, or the submission was removed)."""
    if submission is None:
        return None
    base = member_out(submission.submitter_handle, submission.submitter_name)
    return SubmitterOut(**base.model_dump(), listed_on=submission.listed_on)


def comment_out(comment: Comment, base_url: str, arxiv_id: str) -> CommentOut:
    """A comment as the API shows it."""
    return CommentOut(
        id=comment.id,
        parent_id=comment.parent_id,
        author=member_out(comment.author_handle, comment.author_name),
        state=comment.state.value,
        body=comment.body,
        body_html=comment.body_html,
        upvotes=comment.upvotes,
        created_at=comment.created_at,
        edited_at=comment.edited_at,
        url=f"{compose_paper_url(base_url, arxiv_id)}#comment-{comment.id}",
    )


def thread_out(thread: CommentThread, base_url: str, arxiv_id: str) -> ThreadOut:
    """A thread as the API shows it."""
    return ThreadOut(
        comment=comment_out(thread.comment, base_url, arxiv_id),
        replies=[comment_out(reply, base_url, arxiv_id) for reply in thread.replies],
    )


@router.get("/session", response_model=SessionOut)
def read_session(request: Request, user: OptionalUserDep) -> SessionOut:
    """Who is signed in, and the CSRF token for ``X-CSRF-Token``."""
    member = member_out(user.handle, user.display_name) if user else None
    return SessionOut(signed_in=user is not None, member=member, csrf_token=csrf_token(request))


@router.get("/papers/{arxiv_id:path}/comments", response_model=CommentsOut, responses=documented(404))
def read_comments(conn: ConnDep, services: ServicesDep, user: OptionalUserDep, arxiv_id: str) -> CommentsOut:
    """A paper's discussion, oldest thread first, as the caller may see it."""
    stored = fetch_paper(conn, arxiv_id)
    key, base = stored.paper.arxiv_id, services.settings.base_url
    threads = services.discussion.read_threads(stored.id, user.id if user else None)
    counts = services.discussion.count([stored.id]).get(stored.id)
    return CommentsOut(
        arxiv_id=key,
        count=counts.own if counts else 0,
        hugging_face_count=counts.hugging_face if counts else 0,
        threads=[thread_out(thread, base, key) for thread in threads],
    )


@router.post("/papers/{arxiv_id:path}/comments", response_model=CommentOut, status_code=201, responses=ERRORS)
def post_comment_api(
    conn: ConnDep, services: ServicesDep, _csrf: CsrfDep, user: UserDep, arxiv_id: str, comment: CommentIn
) -> CommentOut:
    """Post a comment (or a reply with ``parent_id``) as the signed-in member."""
    stored = fetch_paper(conn, arxiv_id, missing=", so it cannot be discussed")
    posted = services.discussion.post(user.id, stored.id, comment.body, parent_id=comment.parent_id)
    services.notify_submitter(posted, stored)
    return comment_out(posted, services.settings.base_url, stored.paper.arxiv_id)


@router.post("/submissions", response_model=SubmissionOut, responses=ERRORS)
def submit_paper_api(services: ServicesDep, _csrf: CsrfDep, user: UserDep, submission: SubmissionIn) -> SubmissionOut:
    """Submit an arXiv paper for today's list; ``rule`` says what happened (docs/community.md)."""
    outcome = services.submit_paper(submission.arxiv_id, user.id)
    paper = outcome.paper.paper
    return SubmissionOut(
        rule=outcome.rule.value,
        message=outcome.message,
        listed_today=outcome.listed_today,
        arxiv_id=paper.arxiv_id,
        url=compose_paper_url(services.settings.base_url, paper.arxiv_id),
        listed_on=paper.listing_date,
    )
