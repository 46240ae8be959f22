"""Discussion on paper pages: post, reply, edit, delete, upvote and report comments; the comments feed.

Every change is a CSRF-protected form POST that redirects back to the comment on the paper page
(303); fetch() asking for JSON gets the comment instead. The rules live in
``community/comments.py``; its errors become pages or JSON in ``web/problems.py``. Form fields:
``body`` and optional ``parent_id`` (post), ``body`` (edit), ``vote=up|down`` (upvote),
``reason`` (report), always ``csrf_token``.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from papertide.domain.comments import Comment
from papertide.services import Services
from papertide.store.papers import get_papers
from papertide.web.deps import ConnDep, ServicesDep
from papertide.web.feed_documents import ATOM_TYPE, Feed, FeedEntry, compose_atom
from papertide.web.paper_lookup import fetch_paper
from papertide.web.row_ids import OptionalRowIdForm, RowIdPath
from papertide.web.security import CsrfDep, UserDep, wants_json

router = APIRouter()
BodyField = Annotated[str, Form(max_length=100_000)]
FEED_COMMENTS = 50


def comment_url(arxiv_id: str, comment_id: int) -> str:
    """Where a comment is shown: its anchor on the paper page."""
    return f"/papers/{arxiv_id}#comment-{comment_id}"


def comment_json(comment: Comment) -> dict[str, object]:
    """A comment for fetch() callers of the page routes (the API has its own models)."""
    return {
        "id": comment.id,
        "parent_id": comment.parent_id,
        "state": comment.state.value,
        "upvotes": comment.upvotes,
        "edited": comment.is_edited,
        "body_html": comment.body_html,
    }


def _arxiv_id(services: Services, paper_id: int) -> str:
    with services.engine.connect() as conn:
        found = get_papers(conn, [paper_id])
    return found[0].paper.arxiv_id if found else str(paper_id)


def _done(request: Request, comment: Comment, arxiv_id: str) -> Response:
    if wants_json(request):
        return JSONResponse(comment_json(comment))
    return RedirectResponse(comment_url(arxiv_id, comment.id), status_code=303)


@router.post("/papers/{arxiv_id:path}/comments", include_in_schema=False, response_model=None)
def post_comment(
    request: Request,
    arxiv_id: str,
    _csrf: CsrfDep,
    user: UserDep,
    services: ServicesDep,
    body: BodyField,
    parent_id: OptionalRowIdForm = None,
) -> Response:
    """A new comment, or a reply when ``parent_id`` names a top-level comment of the paper."""
    with services.engine.connect() as conn:
        stored = fetch_paper(conn, arxiv_id, missing=", so it cannot be discussed")
    comment = services.discussion.post(user.id, stored.id, body, parent_id=parent_id)
    services.notify_submitter(comment, stored)
    return _done(request, comment, stored.paper.arxiv_id)


@router.post("/comments/{comment_id}/edit", include_in_schema=False, response_model=None)
def edit_comment(
    request: Request, comment_id: RowIdPath, _csrf: CsrfDep, user: UserDep, services: ServicesDep, body: BodyField
) -> Response:
    """Replace the body of one's own comment (it then says "edited")."""
    comment = services.discussion.edit(user.id, comment_id, body)
    return _done(request, comment, _arxiv_id(services, comment.paper_id))


@router.post("/comments/{comment_id}/delete", include_in_schema=False, response_model=None)
def delete_comment(
    request: Request, comment_id: RowIdPath, _csrf: CsrfDep, user: UserDep, services: ServicesDep
) -> Response:
    """Delete one's own comment (replies keep their place under a placeholder)."""
    comment = services.discussion.delete(user.id, comment_id)
    arxiv_id = _arxiv_id(services, comment.paper_id)
    if wants_json(request):
        return JSONResponse(comment_json(comment))
    return RedirectResponse(f"/papers/{arxiv_id}#comments", status_code=303)


@router.post("/comments/{comment_id}/upvote", include_in_schema=False, response_model=None)
def upvote_comment(
    request: Request,
    comment_id: RowIdPath,
    _csrf: CsrfDep,
    user: UserDep,
    services: ServicesDep,
    vote: Annotated[Literal["up", "down"], Form()] = "up",
) -> Response:
    """Upvote another member's comment (``vote=down`` takes the upvote back)."""
    outcome = services.discussion.react(user.id, comment_id, wanted=vote == "up")
    comment = services.discussion.get(comment_id)
    if wants_json(request):
        return JSONResponse({"id": comment_id, "upvotes": comment.upvotes, "changed": outcome.changed})
    return RedirectResponse(comment_url(_arxiv_id(services, comment.paper_id), comment_id), status_code=303)


@router.post("/comments/{comment_id}/report", include_in_schema=False, response_model=None)
def report_comment(
    request: Request,
    comment_id: RowIdPath,
    _csrf: CsrfDep,
    user: UserDep,
    services: ServicesDep,
    reason: Annotated[str, Form(max_length=5_000)] = "",
) -> Response:
    """Report a comment to the moderators, with a reason."""
    added = services.discussion.report(user.id, comment_id, reason)
    comment = services.discussion.get(comment_id)
    arxiv_id = _arxiv_id(services, comment.paper_id)
    if wants_json(request):
        return JSONResponse({"id": comment_id, "reported": True, "new": added})
    return RedirectResponse(f"/papers/{arxiv_id}?reported={comment_id}#comment-{comment_id}", status_code=303)


@router.get("/papers/{arxiv_id:path}/comments.atom", include_in_schema=False)
def read_comments_atom(arxiv_id: str, conn: ConnDep, services: ServicesDep) -> Response:
    """The latest visible comments of one paper as Atom 1.0 (bodies as plain text: Markdown source)."""
    stored = fetch_paper(conn, arxiv_id)
    key = stored.paper.arxiv_id
    threads = services.discussion.read_threads(stored.id)
    visible = [t.comment for t in threads if t.comment.body] + [r for t in threads for r in t.replies if r.body]
    visible.sort(key=lambda c: (c.edited_at or c.created_at, c.id), reverse=True)
    base = services.settings.base_url.rstrip("/")
    latest = visible[0].edited_at or visible[0].created_at if visible else dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    feed = Feed(
        id=f"{base}/papers/{key}/comments.atom",
        title=f"Comments on {stored.paper.title}",
        link=f"{base}/papers/{key}#comments",
        self_link=f"{base}/papers/{key}/comments.atom",
        updated=latest,
        subtitle=f"The discussion of arXiv:{key} on {services.settings.site_name}",
        entries=[
            FeedEntry(
                id=f"{base}{comment_url(key, c.id)}",
                title=f"{'Reply' if c.is_reply else 'Comment'} by {c.author_name}",
                link=f"{base}{comment_url(key, c.id)}",
                updated=c.edited_at or c.created_at,
                summary=c.body,
                authors=(c.author_name,),
            )
            for c in visible[:FEED_COMMENTS]
        ],
    )
    return Response(compose_atom(feed), media_type=ATOM_TYPE)
