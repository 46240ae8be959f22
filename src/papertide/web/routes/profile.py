"""The member's handle and display name: ``GET/POST /account/profile``.

Shown right after the first sign-in (the sign-in link leads here while the member has no
handle) and from the account page. Fields: ``handle``, ``display_name``, ``next``,
``csrf_token``. The rules (characters, reserved words, uniqueness whatever the case) are
``community/members.py``'s; a refused value re-renders the form with the reason.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from papertide.domain.errors import PapertideError
from papertide.domain.members import suggest_handle
from papertide.web.deps import ServicesDep, TemplatesDep
from papertide.web.problems import headers_for, status_for
from papertide.web.security import CsrfDep, UserDep, parse_local_url

router = APIRouter()
NEXT_DEFAULT = "/account"


@router.get("/account/profile", response_class=HTMLResponse, include_in_schema=False)
def read_profile_form(
    request: Request,
    user: UserDep,
    templates: TemplatesDep,
    next: Annotated[str | None, Query(max_length=600)] = None,
) -> HTMLResponse:
    """The form, prefilled with the current profile or a suggestion from the address."""
    context = {
        "handle": user.handle or suggest_handle(user.email),
        "display_name": user.display_name or "",
        "next": parse_local_url(next, NEXT_DEFAULT),
        "first_time": not user.handle,
        "error": "",
    }
    return templates.TemplateResponse(request, "profile.html", context)


@router.post("/account/profile", response_class=HTMLResponse, include_in_schema=False)
def write_profile_form(
    request: Request,
    _csrf: CsrfDep,
    user: UserDep,
    services: ServicesDep,
    templates: TemplatesDep,
    handle: Annotated[str, Form(max_length=200)] = "",
    display_name: Annotated[str, Form(max_length=1_000)] = "",
    next: Annotated[str | None, Form(max_length=600)] = None,
) -> Response:
    """Save the profile and go on to ``next``; a refused value shows the form again with the reason."""
    target = parse_local_url(next, NEXT_DEFAULT)
    try:
        services.members.choose_profile(user.id, handle=handle, display_name=display_name)
    except PapertideError as error:
        status, _title = status_for(error)
        context = {
            "handle": handle,
            "display_name": display_name,
            "next": target,
            "first_time": not user.handle,
            "error": str(error),
        }
        return templates.TemplateResponse(
            request, "profile.html", context, status_code=status, headers=headers_for(error)
        )
    return RedirectResponse(target, status_code=303)
