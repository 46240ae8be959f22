"""The moderators' queue (``/moderation``) and their actions, each a CSRF-protected POST.

Comment actions: ``POST /moderation/comments/{id}/hide|unhide|delete|dismiss``; members:
``POST /moderation/members/{id}/suspend`` (field ``reason``) and ``.../unsuspend``. Who may do
what is decided by ``community/moderation.py`` (Forbidden for anyone else, a 403 page).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from papertide.domain.comments import Comment
from papertide.web.deps import ServicesDep, TemplatesDep
from papertide.web.row_ids import RowIdPath
from papertide.web.security import CsrfDep, UserDep, parse_local_url

router = APIRouter()
NextField = Annotated[str | None, Form(max_length=600)]


@router.get("/moderation", response_class=HTMLResponse, include_in_schema=False)
def read_queue(request: Request, user: UserDep, services: ServicesDep, templates: TemplatesDep) -> HTMLResponse:
    """Comments with open reports, most reported first (moderators and admins only)."""
    queue = services.moderation.read_queue(user.id)
    return templates.TemplateResponse(request, "moderation.html", {"queue": queue})


@router.post("/moderation/comments/{comment_id}/{action}", include_in_schema=False, response_model=None)
def decide_comment(
    comment_id: RowIdPath,
    action: Literal["hide", "unhide", "delete", "dismiss"],
    _csrf: CsrfDep,
    user: UserDep,
    services: ServicesDep,
    next: NextField = None,
) -> Response:
    """Hide, show again, delete a comment, or dismiss its reports."""
    moderation = services.moderation
    actions: dict[str, Callable[[int, int], Comment]] = {
        "hide": moderation.hide_comment,
        "unhide": moderation.unhide_comment,
        "delete": moderation.delete_comment,
        "dismiss": moderation.dismiss_reports,
    }
    actions[action](user.id, comment_id)
    return RedirectResponse(parse_local_url(next, "/moderation"), status_code=303)


@router.post("/moderation/members/{member_id}/{action}", include_in_schema=False, response_model=None)
def decide_member(
    member_id: RowIdPath,
    action: Literal["suspend", "unsuspend"],
    _csrf: CsrfDep,
    user: UserDep,
    services: ServicesDep,
    reason: Annotated[str, Form(max_length=5_000)] = "",
    next: NextField = None,
) -> Response:
    """Suspend a member (read only from their next request) or lift a suspension."""
    if action == "suspend":
        services.moderation.suspend_member(user.id, member_id, reason)
    else:
        services.moderation.unsuspend_member(user.id, member_id)
    return RedirectResponse(parse_local_url(next, "/moderation"), status_code=303)
