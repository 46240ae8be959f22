"""The account page's own actions (issue 10): the member's digest, and deleting the account.

Every change is a CSRF-protected POST from a signed-in session; the pages only show buttons.
The account page itself (routes/account.py) shows this module's block through
``digest_section``; other sections (submissions, collections, follows) add blocks beside it.
Decisions (subscribing confirms at once; votes stay as anonymous counts) are in accounts/hub.py
and docs/community.md.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from papertide.accounts.hub import run_account_deletion, run_member_subscribe, run_member_unsubscribe
from papertide.digest.compose import MailComposer
from papertide.domain.accounts import User
from papertide.web.account_digest import account_subscriber, forget_account_subscriber
from papertide.web.clock import NowDep
from papertide.web.deps import EngineDep, ServicesDep, TemplatesDep
from papertide.web.security import CsrfDep, UserDep, clear_session

router = APIRouter()
PRIVATE_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
DigestNotice = Literal["subscribed", "unsubscribed"]
NOTICES: dict[str, str] = {
    "subscribed": "You are subscribed. Your first digest comes at your next delivery hour.",
    "unsubscribed": "You are unsubscribed. No more digests go to your address.",
}


def digest_section(request: Request, user: User, composer: MailComposer, now: dt.datetime) -> dict[str, Any]:
    """The account page's digest block: the subscription's state and a fresh preferences link."""
    subscriber = account_subscriber(request)
    manage_url = None
    if subscriber is not None:
        manage_url = "/digest/preferences/" + composer.manage_token(subscriber.id, subscriber.email, now)
    notice = NOTICES.get(request.query_params.get("digest", ""))
    return {"subscriber": subscriber, "manage_url": manage_url, "notice": notice, "email": user.email}


@router.post("/account/digest/subscribe", include_in_schema=False)
def subscribe_member(
    request: Request, _csrf: CsrfDep, user: UserDep, engine: EngineDep, services: ServicesDep, now: NowDep
) -> RedirectResponse:
    """Subscribe the account's address in one click (confirmed at once: the sign-in link proved it)."""
    run_member_subscribe(engine, user.email, services.signup_defaults, now=now)
    forget_account_subscriber(request)
    return RedirectResponse("/account?digest=subscribed#digest", status_code=303)


@router.post("/account/digest/unsubscribe", include_in_schema=False)
def unsubscribe_member(
    request: Request, _csrf: CsrfDep, user: UserDep, engine: EngineDep, now: NowDep
) -> RedirectResponse:
    """Stop the digest to the account's address."""
    run_member_unsubscribe(engine, user.email, now=now)
    forget_account_subscriber(request)
    return RedirectResponse("/account?digest=unsubscribed#digest", status_code=303)


@router.get("/account/delete", response_class=HTMLResponse, include_in_schema=False)
def read_account_deletion(request: Request, user: UserDep, templates: TemplatesDep) -> HTMLResponse:
    """The confirmation step: what goes, what stays, and one button (GET deletes nothing)."""
    subscriber = account_subscriber(request)
    context = {"user": user, "subscriber": subscriber, "done": False}
    response = templates.TemplateResponse(request, "account_delete.html", context)
    response.headers.update(PRIVATE_HEADERS)
    return response


@router.post("/account/delete", include_in_schema=False)
def delete_account(request: Request, _csrf: CsrfDep, user: UserDep, engine: EngineDep) -> RedirectResponse:
    """Delete the account for good and sign this browser out; its other sessions end with it."""
    run_account_deletion(engine, user.id)
    response = RedirectResponse("/account/deleted", status_code=303)
    clear_session(response, request)
    return response


@router.get("/account/deleted", response_class=HTMLResponse, include_in_schema=False)
def read_account_deleted(request: Request, templates: TemplatesDep) -> HTMLResponse:
    """The goodbye page after a deletion (signed out by then: the account no longer exists)."""
    return templates.TemplateResponse(request, "account_delete.html", {"done": True})
