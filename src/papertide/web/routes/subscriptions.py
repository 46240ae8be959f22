"""The digest's pages: subscribe, confirm, preferences, preview, unsubscribe (the API: api/subscriptions.py).

Every link in a digest or confirmation mail carries a signed token (digest/tokens.py) instead
of a password. Opening a link (GET) never changes anything: it shows a page whose button
POSTs. The exception the standard demands is RFC 8058 one-click unsubscribe: mail clients
POST ``List-Unsubscribe=One-Click`` to the link with no cookie, so that POST takes no CSRF
token; the signed token authenticates it. Pages behind tokens send ``Referrer-Policy:
no-referrer`` and ``Cache-Control: no-store`` so the token does not leak.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from papertide.digest.compose import parse_message
from papertide.digest.preferences import InvalidSubscription, known_time_zones
from papertide.digest.preview import run_preview
from papertide.digest.subscription import (
    MailUnavailable,
    TooManyRequests,
    read_managed,
    read_unsubscribing,
    run_confirmation,
    run_preferences,
    run_resubscribe,
    run_signup,
    run_unsubscribe,
)
from papertide.digest.tokens import ExpiredToken, InvalidToken, check_token, parse_token
from papertide.digest.why import EmptyReason
from papertide.domain.subscribers import Subscriber
from papertide.store.subscribers import get_subscriber
from papertide.web.clock import NowDep
from papertide.web.deps import ComposerDep, EngineDep, ServicesDep, TemplatesDep, TransportDep
from papertide.web.security import CsrfDep, client_address

router = APIRouter()
Token = Annotated[str, Path(max_length=100)]
ShortField = Annotated[str, Form(max_length=2000)]
SENT_TEXT = "If this address can subscribe, a confirmation link is on its way to it. Check your inbox."
PRIVATE_HEADERS = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}


def _page(
    templates: TemplatesDep, request: Request, name: str, context: dict[str, Any], status: int = 200
) -> HTMLResponse:
    response = templates.TemplateResponse(request, name, context, status_code=status)
    response.headers.update(PRIVATE_HEADERS)
    return response


def _link_problem(templates: TemplatesDep, request: Request, error: InvalidToken) -> HTMLResponse:
    status = 410 if isinstance(error, ExpiredToken) else 400
    context = {"title": "This link does not work", "message": str(error)}
    return _page(templates, request, "digest_link.html", context, status)


# --- subscribing ---------------------------------------------------------------------------------


@router.get("/subscribe", response_class=HTMLResponse, include_in_schema=False)
def read_subscribe(request: Request, templates: TemplatesDep) -> HTMLResponse:
    """The subscribe form on a page of its own (the banner's form posts to the same place)."""
    return _page(templates, request, "subscribe.html", {"email": "", "error": None})


@router.post("/subscribe", response_class=HTMLResponse, include_in_schema=False)
def subscribe(
    request: Request,
    _csrf: CsrfDep,
    engine: EngineDep,
    services: ServicesDep,
    templates: TemplatesDep,
    composer: ComposerDep,
    transport: TransportDep,
    now: NowDep,
    email: Annotated[str, Form(max_length=400)] = "",
) -> HTMLResponse:
    """Record a sign-up from the banner and mail the confirmation; the answer never says who subscribes."""
    try:
        run_signup(
            engine,
            transport,
            composer,
            email,
            now=now,
            client=client_address(request),
            defaults=services.signup_defaults,
            limits=services.signup_limits,
            pending_expiry=services.digest_policy.pending_expiry,
        )
    except InvalidSubscription as error:
        context = {"email": email.replace("\r", " ").replace("\n", " ")[:320], "error": error.problems["email"]}
        return _page(templates, request, "subscribe.html", context, 400)
    except TooManyRequests as error:
        response = _page(templates, request, "subscribe.html", {"email": "", "error": str(error)}, 429)
        response.headers["Retry-After"] = str(error.retry_after)
        return response
    except MailUnavailable as error:
        return _page(templates, request, "subscribe.html", {"email": email[:320], "error": str(error)}, 503)
    return _page(templates, request, "subscribe_sent.html", {"message": SENT_TEXT})


@router.get("/subscribe/confirm/{token}", response_class=HTMLResponse, include_in_schema=False)
def read_confirm(
    request: Request, token: Token, engine: EngineDep, services: ServicesDep, templates: TemplatesDep, now: NowDep
) -> HTMLResponse:
    """The page a confirmation link opens: one button that confirms."""
    try:
        claims = parse_token(token)
        with engine.connect() as conn:
            subscriber = get_subscriber(conn, claims.subscriber_id)
        if subscriber is None:
            raise InvalidToken("This link is not valid or the sign-up has expired. Subscribe again from any page.")
        check_token(
            request.app.state.secret,
            "confirm",
            token,
            subscriber.email,
            now=now,
            max_age=services.digest_policy.pending_expiry,
        )
    except InvalidToken as error:
        return _link_problem(templates, request, error)
    return _page(templates, request, "subscribe_confirm.html", {"token": token, "email": subscriber.email})


@router.post("/subscribe/confirm/{token}", include_in_schema=False, response_model=None)
def confirm(
    request: Request,
    _csrf: CsrfDep,
    token: Token,
    engine: EngineDep,
    services: ServicesDep,
    templates: TemplatesDep,
    composer: ComposerDep,
    now: NowDep,
) -> Response:
    """Confirm the address, then show its preferences."""
    secret = request.app.state.secret
    try:
        subscriber = run_confirmation(engine, secret, token, now=now, max_age=services.digest_policy.pending_expiry)
    except InvalidToken as error:
        return _link_problem(templates, request, error)
    manage = composer.manage_token(subscriber.id, subscriber.email, now)
    return RedirectResponse(f"/digest/preferences/{manage}?welcome=1", status_code=303, headers=PRIVATE_HEADERS)


# --- preferences ---------------------------------------------------------------------------------


def _preferences_page(
    templates: TemplatesDep,
    request: Request,
    token: str,
    subscriber: Subscriber,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    notice: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    preferences = subscriber.preferences
    current = {
        "frequency": preferences.frequency,
        "hour": str(preferences.hour),
        "timezone": preferences.timezone,
        "size": str(preferences.size),
        "categories": ", ".join(preferences.topics.categories),
        "authors": ", ".join(preferences.topics.authors),
        "topics": ", ".join(preferences.topics.phrases),
    }
    context = {
        "token": token,
        "subscriber": subscriber,
        "values": values or current,
        "errors": errors or {},
        "notice": notice,
        "time_zones": sorted(known_time_zones()),
    }
    return _page(templates, request, "preferences.html", context, status)


@router.get("/digest/preferences/{token}", response_class=HTMLResponse, include_in_schema=False)
def read_preferences(
    request: Request,
    token: Token,
    engine: EngineDep,
    services: ServicesDep,
    templates: TemplatesDep,
    now: NowDep,
    welcome: bool = False,
) -> HTMLResponse:
    """The preferences form a digest links to."""
    try:
        subscriber = read_managed(engine, request.app.state.secret, token, now=now, max_age=services.link_max_age)
    except InvalidToken as error:
        return _link_problem(templates, request, error)
    notice = "You are subscribed. Your first digest comes at your next delivery hour." if welcome else None
    return _preferences_page(templates, request, token, subscriber, notice=notice)


@router.post("/digest/preferences/{token}", response_class=HTMLResponse, include_in_schema=False)
def save_preferences(
    request: Request,
    _csrf: CsrfDep,
    token: Token,
    engine: EngineDep,
    services: ServicesDep,
    templates: TemplatesDep,
    now: NowDep,
    frequency: ShortField = "",
    hour: ShortField = "",
    timezone: ShortField = "",
    size: ShortField = "",
    categories: ShortField = "",
    authors: ShortField = "",
    topics: ShortField = "",
) -> HTMLResponse:
    """Store new preferences; a bad field is shown beside the form and nothing is stored."""
    values = {
        "frequency": frequency,
        "hour": hour,
        "timezone": timezone,
        "size": size,
        "categories": categories,
        "authors": authors,
        "topics": topics,
    }
    secret = request.app.state.secret
    try:
        subscriber = run_preferences(engine, secret, token, dict(values), now=now, max_age=services.link_max_age)
    except InvalidToken as error:
        return _link_problem(templates, request, error)
    except InvalidSubscription as error:
        subscriber = read_managed(engine, secret, token, now=now, max_age=services.link_max_age)
        shown = {name: " ".join(value.split()) for name, value in values.items()}
        return _preferences_page(templates, request, token, subscriber, values=shown, errors=error.problems, status=400)
    return _preferences_page(templates, request, token, subscriber, notice="Your preferences are saved.")


@router.get("/digest/preview/{token}", response_class=HTMLResponse, include_in_schema=False)
def read_preview(
    request: Request,
    token: Token,
    engine: EngineDep,
    services: ServicesDep,
    templates: TemplatesDep,
    composer: ComposerDep,
    now: NowDep,
) -> HTMLResponse:
    """The HTML of the digest this subscriber would get now (nothing is stored or sent)."""
    try:
        subscriber = read_managed(engine, request.app.state.secret, token, now=now, max_age=services.link_max_age)
    except InvalidToken as error:
        return _link_problem(templates, request, error)
    raw = run_preview(
        engine, composer, subscriber, now=now, policy=services.digest_policy, matcher=services.topic_matcher(now)
    )
    if isinstance(raw, EmptyReason):
        # The real reason, in the reader's words; a subscriber is offered their preferences, not to subscribe again.
        context = {
            "title": "Your next digest would be empty",
            "message": raw.message[:1].upper() + raw.message[1:] + ".",
            "preferences_link": f"/digest/preferences/{token}",
            "offer_subscribe": subscriber.status != "confirmed",
        }
        return _page(templates, request, "digest_link.html", context)
    body = parse_message(raw).get_body(("html",))
    html = body.get_content() if body is not None else ""
    return HTMLResponse(str(html), headers=PRIVATE_HEADERS)


# --- unsubscribing --------------------------------------------------------------------------------


@router.get("/unsubscribe/{token}", response_class=HTMLResponse, include_in_schema=False)
def read_unsubscribe(
    request: Request, token: Token, engine: EngineDep, templates: TemplatesDep, now: NowDep
) -> HTMLResponse:
    """The page an unsubscribe link opens: a button (opening a link never unsubscribes)."""
    try:
        subscriber = read_unsubscribing(engine, request.app.state.secret, token, now=now)
    except InvalidToken as error:
        return _link_problem(templates, request, error)
    return _page(templates, request, "unsubscribe.html", {"token": token, "subscriber": subscriber, "done": False})


@router.post("/unsubscribe/{token}", response_class=HTMLResponse, include_in_schema=False)
def unsubscribe(
    request: Request, token: Token, engine: EngineDep, templates: TemplatesDep, now: NowDep
) -> HTMLResponse:
    """Unsubscribe now: the confirm page's button and RFC 8058 one-click POSTs from mail clients."""
    try:
        subscriber = run_unsubscribe(engine, request.app.state.secret, token, now=now)
    except InvalidToken as error:
        return _link_problem(templates, request, error)
    return _page(templates, request, "unsubscribe.html", {"token": token, "subscriber": subscriber, "done": True})


@router.post("/unsubscribe/{token}/undo", response_class=HTMLResponse, include_in_schema=False)
def resubscribe(
    request: Request, _csrf: CsrfDep, token: Token, engine: EngineDep, templates: TemplatesDep, now: NowDep
) -> HTMLResponse:
    """Change of mind right after unsubscribing: subscribe the address again."""
    try:
        subscriber = run_resubscribe(engine, request.app.state.secret, token, now=now)
    except InvalidToken as error:
        return _link_problem(templates, request, error)
    return _page(templates, request, "unsubscribe.html", {"token": token, "subscriber": subscriber, "done": True})
