"""Sign-in by emailed link, sign-out, and the account page (the sign-in flow: accounts/signin.py).

Opening the emailed link (GET) only shows a "Sign in" button; the POST it sends uses the link.
So nothing changes on GET, and mail scanners that pre-open links cannot spend them.
Accounts are created the first time a link is used; asking for a link reveals nothing about
whether an account exists.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from papertide.accounts.signin import (
    MailUnavailable,
    SigninPolicy,
    SigninSite,
    TooManySignins,
    run_signin_request,
)
from papertide.config import Settings
from papertide.domain.accounts import LinkCheck, LinkState
from papertide.mail.address import InvalidAddress
from papertide.store.accounts import check_login_token, redeem_login_token, write_login, write_session_epoch
from papertide.store.engine import begin_write
from papertide.store.votes import count_user_votes, list_upvoted_papers
from papertide.web.clock import NowDep
from papertide.web.deps import ComposerDep, ConnDep, EngineDep, SettingsDep, TemplatesDep, TransportDep
from papertide.web.page_cards import expect_cards
from papertide.web.problems import profile_form_url
from papertide.web.routes.account_hub import digest_section
from papertide.web.security import (
    CsrfDep,
    UserDep,
    clear_session,
    client_address,
    parse_local_url,
    write_session,
)

router = APIRouter()
TokenField = Annotated[str, Form(min_length=1, max_length=200)]
PRIVATE_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def describe_next(next_url: str) -> str | None:
    """Why someone is asked to sign in, from where they go next: "upvote" for a remembered upvote."""
    path = next_url.split("?", 1)[0]
    if path.startswith("/papers/") and path.endswith("/upvote"):
        return "upvote"
    return None


def _render(
    templates: TemplatesDep, request: Request, name: str, context: dict[str, Any], status: int = 200
) -> HTMLResponse:
    return templates.TemplateResponse(request, name, context, status_code=status)


@router.get("/signin", response_class=HTMLResponse, include_in_schema=False)
def read_signin(
    request: Request,
    templates: TemplatesDep,
    next: Annotated[str | None, Query(max_length=600)] = None,
    email: Annotated[str, Query(max_length=320)] = "",
) -> HTMLResponse:
    """The form asking for an email address."""
    target = parse_local_url(next, "/account")
    context = {"next": target, "email": email, "reason": describe_next(target)}
    return _render(templates, request, "signin.html", context)


def signin_policy(settings: Settings) -> SigninPolicy:
    """The sign-in limits and link lifetime from the settings."""
    return SigninPolicy(
        per_address=settings.signin_mails_per_address,
        per_client=settings.signin_mails_per_client,
        window=dt.timedelta(minutes=settings.signin_rate_window_minutes),
        link_lifetime=dt.timedelta(minutes=settings.login_link_minutes),
    )


def signin_site(settings: Settings) -> SigninSite:
    """Whose name the sign-in mail carries, its sender, and where its link points."""
    return SigninSite(name=settings.site_name, base_url=settings.base_url, mail_from=settings.mail_from)


@router.post("/signin", response_class=HTMLResponse, include_in_schema=False)
def send_signin_link(
    request: Request,
    _csrf: CsrfDep,
    engine: EngineDep,
    settings: SettingsDep,
    templates: TemplatesDep,
    transport: TransportDep,
    now: NowDep,
    email: Annotated[str, Form(max_length=320)] = "",
    next: Annotated[str | None, Form(max_length=600)] = None,
) -> HTMLResponse:
    """Mail a single-use sign-in link, within the per-address and per-client limits."""
    target = parse_local_url(next, "/account")
    form: dict[str, Any] = {"next": target, "email": email.strip(), "reason": describe_next(target)}
    try:
        address = run_signin_request(
            engine,
            transport,
            email,
            next_url=target,
            client=client_address(request),
            now=now,
            site=signin_site(settings),
            policy=signin_policy(settings),
        )
    except InvalidAddress as error:
        form["error"] = f"That email address does not look right: {error}"
        return _render(templates, request, "signin.html", form, status=400)
    except TooManySignins as error:
        form["error"] = str(error)
        response = _render(templates, request, "signin.html", form, status=429)
        response.headers["Retry-After"] = str(error.retry_after)
        return response
    except MailUnavailable as error:
        form["error"] = str(error)
        return _render(templates, request, "signin.html", form, status=503)
    context = {
        "email": address,
        "next": target,
        "minutes": settings.login_link_minutes,
        "reason": describe_next(target),
    }
    return _render(templates, request, "signin_sent.html", context)


def _link_problem(templates: TemplatesDep, request: Request, check: LinkCheck) -> HTMLResponse:
    status = 400 if check.state is LinkState.UNKNOWN else 410
    context = {"check": check, "email": check.email or "", "next": parse_local_url(check.next_url, "/account")}
    return _render(templates, request, "signin_link.html", context, status=status)


@router.get("/signin/link", response_class=HTMLResponse, include_in_schema=False)
def read_signin_link(
    request: Request,
    engine: EngineDep,
    templates: TemplatesDep,
    now: NowDep,
    token: Annotated[str, Query(max_length=200)] = "",
) -> HTMLResponse:
    """The page an emailed link opens: a button that signs in, or why the link no longer works."""
    with engine.connect() as conn:
        check = check_login_token(conn, token, now) if token else LinkCheck(LinkState.UNKNOWN)
    if check.state is not LinkState.VALID:
        response = _link_problem(templates, request, check)
    else:
        response = _render(
            templates, request, "signin_link.html", {"check": check, "token": token, "email": check.email}
        )
    # The token is in this page's address: keep it out of caches and of Referer headers.
    response.headers.update(PRIVATE_HEADERS)
    return response


@router.post("/signin/link", include_in_schema=False, response_model=None)
def use_signin_link(
    request: Request,
    _csrf: CsrfDep,
    engine: EngineDep,
    templates: TemplatesDep,
    now: NowDep,
    token: TokenField,
) -> Response:
    """Spend the link, create the account on first use, and start a session."""
    with begin_write(engine) as conn:
        check = redeem_login_token(conn, token, now)
        user = write_login(conn, check.email, now) if check.state is LinkState.VALID and check.email else None
    if user is None:
        return _link_problem(templates, request, check)
    target = parse_local_url(check.next_url, "/account")
    if not user.handle:  # first sign-in (issue 11): choose a handle and display name, then go on
        target = profile_form_url(target)
    response = RedirectResponse(target, status_code=303)
    write_session(response, request, user)
    return response


@router.post("/signout", include_in_schema=False)
def sign_out(request: Request, _csrf: CsrfDep) -> RedirectResponse:
    """Sign this browser out."""
    response = RedirectResponse("/", status_code=303)
    clear_session(response, request)
    return response


@router.post("/account/signout-everywhere", include_in_schema=False)
def sign_out_everywhere(request: Request, _csrf: CsrfDep, user: UserDep, engine: EngineDep) -> RedirectResponse:
    """End every session of the account, on every browser."""
    with begin_write(engine) as conn:
        write_session_epoch(conn, user.id)
    response = RedirectResponse("/", status_code=303)
    clear_session(response, request)
    return response


@router.get("/account", response_class=HTMLResponse, include_in_schema=False)
def read_account(
    request: Request,
    user: UserDep,
    conn: ConnDep,
    templates: TemplatesDep,
    settings: SettingsDep,
    composer: ComposerDep,
    now: NowDep,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> HTMLResponse:
    """The member's hub: their digest, the papers they upvoted (latest vote first), leaving."""
    size = settings.list_page_size
    total = count_user_votes(conn, user.id)
    upvoted = list_upvoted_papers(conn, user.id, limit=size, offset=(page - 1) * size)
    expect_cards(request, [stored.id for stored in upvoted])
    pager = {
        "previous": f"/account?page={page - 1}" if page > 1 else None,
        "next": f"/account?page={page + 1}" if page * size < total else None,
    }
    context = {
        "user": user,
        "upvoted": upvoted,
        "total": total,
        "pager": pager,
        "digest": digest_section(request, user, composer, now),
    }
    response = _render(templates, request, "account.html", context)
    response.headers.update(PRIVATE_HEADERS)
    return response
