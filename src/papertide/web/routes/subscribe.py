"""The digest's pages and API: subscribe, confirm, preferences, preview, unsubscribe.

Every link in a digest or confirmation mail carries a signed token (digest/tokens.py) instead
of a password. Opening a link (GET) never changes anything: it shows a page whose button
POSTs. The exception the standard demands is RFC 8058 one-click unsubscribe: mail clients
POST ``List-Unsubscribe=One-Click`` to the link with no cookie, so that POST takes no CSRF
token; the signed token authenticates it. Pages behind tokens send ``Referrer-Policy:
no-referrer`` and ``Cache-Control: no-store`` so the token does not leak.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from papertide.digest.compose import MailComposer, parse_message
from papertide.digest.plan import make_topic_matcher
from papertide.digest.preferences import InvalidSubscription, known_time_zones, parse_preferences
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
from papertide.domain.periods import local_date
from papertide.domain.subscribers import Subscriber
from papertide.mail.transport import make_transport
from papertide.store.subscribers import get_subscriber
from papertide.web.clock import NowDep
from papertide.web.deps import EngineDep, SettingsDep, TemplatesDep
from papertide.web.digest_settings import (
    digest_policy,
    link_max_age,
    mail_site,
    pending_expiry,
    signup_defaults,
    signup_limits,
)
from papertide.web.security import CsrfDep, client_address

router = APIRouter()
log = logging.getLogger(__name__)
Token = Annotated[str, Path(max_length=100)]
ShortField = Annotated[str, Form(max_length=2000)]
SENT_TEXT = "If this address can subscribe, a confirmation link is on its way to it. Check your inbox."
PRIVATE_HEADERS = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}


def _composer(request: Request) -> MailComposer:
    composer: MailComposer | None = getattr(request.app.state, "digest_composer", None)
    if composer is None:
        composer = MailComposer(mail_site(request.app.state.settings, request.app.state.secret))
        request.app.state.digest_composer = composer
    return composer


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
    settings: SettingsDep,
    templates: TemplatesDep,
    now: NowDep,
    email: Annotated[str, Form(max_length=400)] = "",
) -> HTMLResponse:
    """Record a sign-up from the banner and mail the confirmation; the answer never says who subscribes."""
    try:
        run_signup(
            engine,
            make_transport(settings.smtp_url.get_secret_value(), settings.outbox_dir),
            _composer(request),
            email,
            now=now,
            client=client_address(request),
            defaults=signup_defaults(settings),
            limits=signup_limits(settings),
            pending_expiry=pending_expiry(settings),
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


class SubscriptionRequest(BaseModel):
    """A sign-up through the API; preferences apply only when the address is new."""

    model_config = ConfigDict(extra="forbid")

    email: str = Field(max_length=400, description="The address to subscribe; a confirmation link is mailed to it.")
    frequency: str | None = Field(None, description="daily, weekly or paused")
    hour: int | None = Field(None, description="Delivery hour, 0-23, in `timezone`")
    timezone: str | None = Field(None, max_length=64, description="IANA time zone, e.g. Europe/Paris")
    size: int | None = Field(None, description="Papers per digest, 5-30")
    categories: list[str] | None = Field(None, max_length=50, description="arXiv categories, e.g. cs.LG")
    authors: list[str] | None = Field(None, max_length=50, description="Author names to follow")
    topics: list[str] | None = Field(None, max_length=50, description="Free-text topics, matched by meaning")


@router.post("/api/v1/subscriptions", status_code=202, tags=["digest"], response_model=None)
def create_subscription(
    body: SubscriptionRequest,
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
    now: NowDep,
) -> Response:
    """Subscribe an address to the digest (double opt-in): 202 whether or not it was already subscribed."""
    fields = body.model_dump(exclude_none=True, exclude={"email"})
    try:
        defaults = parse_preferences(fields, signup_defaults(settings))
        run_signup(
            engine,
            make_transport(settings.smtp_url.get_secret_value(), settings.outbox_dir),
            _composer(request),
            body.email,
            now=now,
            client=client_address(request),
            defaults=defaults,
            limits=signup_limits(settings),
            pending_expiry=pending_expiry(settings),
        )
    except InvalidSubscription as error:
        return JSONResponse({"detail": str(error), "errors": error.problems}, status_code=422)
    except TooManyRequests as error:
        return JSONResponse({"detail": str(error)}, status_code=429, headers={"Retry-After": str(error.retry_after)})
    except MailUnavailable as error:
        return JSONResponse({"detail": str(error)}, status_code=503)
    return JSONResponse({"status": "accepted", "detail": SENT_TEXT}, status_code=202)


@router.get("/subscribe/confirm/{token}", response_class=HTMLResponse, include_in_schema=False)
def read_confirm(
    request: Request, token: Token, engine: EngineDep, settings: SettingsDep, templates: TemplatesDep, now: NowDep
) -> HTMLResponse:
    """The page a confirmation link opens: one button that confirms."""
    try:
        claims = parse_token(token)
        with engine.connect() as conn:
            subscriber = get_subscriber(conn, claims.subscriber_id)
        if subscriber is None:
            raise InvalidToken("This link is not valid or the sign-up has expired. Subscribe again from any page.")
        check_token(
            request.app.state.secret, "confirm", token, subscriber.email, now=now, max_age=pending_expiry(settings)
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
    settings: SettingsDep,
    templates: TemplatesDep,
    now: NowDep,
) -> Response:
    """Confirm the address, then show its preferences."""
    secret = request.app.state.secret
    try:
        subscriber = run_confirmation(engine, secret, token, now=now, max_age=pending_expiry(settings))
    except InvalidToken as error:
        return _link_problem(templates, request, error)
    manage = _composer(request).manage_token(subscriber.id, subscriber.email, now)
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
    settings: SettingsDep,
    templates: TemplatesDep,
    now: NowDep,
    welcome: bool = False,
) -> HTMLResponse:
    """The preferences form a digest links to."""
    try:
        subscriber = read_managed(engine, request.app.state.secret, token, now=now, max_age=link_max_age(settings))
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
    settings: SettingsDep,
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
        subscriber = run_preferences(engine, secret, token, dict(values), now=now, max_age=link_max_age(settings))
    except InvalidToken as error:
        return _link_problem(templates, request, error)
    except InvalidSubscription as error:
        subscriber = read_managed(engine, secret, token, now=now, max_age=link_max_age(settings))
        shown = {name: " ".join(value.split()) for name, value in values.items()}
        return _preferences_page(templates, request, token, subscriber, values=shown, errors=error.problems, status=400)
    return _preferences_page(templates, request, token, subscriber, notice="Your preferences are saved.")


@router.get("/digest/preview/{token}", response_class=HTMLResponse, include_in_schema=False)
def read_preview(
    request: Request, token: Token, engine: EngineDep, settings: SettingsDep, templates: TemplatesDep, now: NowDep
) -> HTMLResponse:
    """The HTML of the digest this subscriber would get now (nothing is stored or sent)."""
    try:
        subscriber = read_managed(engine, request.app.state.secret, token, now=now, max_age=link_max_age(settings))
    except InvalidToken as error:
        return _link_problem(templates, request, error)
    policy = digest_policy(settings)
    search = getattr(request.app.state, "search", None)
    matcher = None
    if search is not None:
        matcher = make_topic_matcher(search.search_ids, local_date(now - policy.max_lookback, dt.UTC))
    raw = run_preview(engine, _composer(request), subscriber, now=now, policy=policy, matcher=matcher)
    if raw is None:
        context = {"title": "Your next digest", "message": "Nothing new since your last digest yet. Look again later."}
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
