"""Sessions, CSRF protection and the signed-in user, for every page and every state change.

Sessions: a cookie holding the user's id and session epoch, signed and timestamped with the app
secret (itsdangerous); HttpOnly, SameSite=Lax, Secure when the request came over https. Signing
out drops the cookie; "sign out everywhere" bumps the user's epoch so every older cookie fails.

CSRF (double submit, bound to the browser): a random secret lives in its own HttpOnly cookie,
set by ``CsrfCookieMiddleware`` the first time a page asks for a token; forms carry that secret
signed with the app key (``csrf_token(request)``), and ``verify_csrf`` checks the pair on every
POST. A page on another site can neither read the cookie nor sign a value of its own.
"""

from __future__ import annotations

import hmac
import re
import secrets
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from itsdangerous import BadSignature, URLSafeSerializer, URLSafeTimedSerializer
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from papertide.config import Settings
from papertide.domain.accounts import User
from papertide.store.accounts import get_user

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
CSRF_REJECTED = "This form has expired or did not come from this site. Go back, reload the page and try again."
_CSRF_SALT = "papertide.csrf"
_SESSION_SALT = "papertide.session"
_CSRF_COOKIE_DAYS = 365
_STATE_CSRF = "papertide_csrf_secret"
_STATE_CSRF_NEW = "papertide_csrf_new"
_STATE_CSRF_TOKEN = "papertide_csrf_token"
_STATE_USER = "papertide_session_user"
_SECRET_SHAPE = re.compile(r"[A-Za-z0-9_-]{32,128}")
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class SignInRequired(Exception):
    """Raised where a page or action needs an account; answered with the sign-in page."""

    def __init__(self, next_url: str = "/") -> None:
        super().__init__(next_url)
        self.next_url = next_url


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def is_https(request: Request) -> bool:
    """Whether the request came over https (behind a proxy in ``forwarded_allow_ips``: as it says, web/forwarded.py)."""
    return request.url.scheme == "https"


def client_address(request: Request) -> str:
    """The client's IP address, for per-client rate limits (a trusted proxy's X-Forwarded-For, web/forwarded.py)."""
    return request.client.host if request.client else "unknown"


def parse_local_url(value: str | None, default: str = "/") -> str:
    """``value`` when it is a path on this site, else ``default``: no open redirects."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    if any(ord(char) < 32 or ord(char) == 127 for char in value) or len(value) > 500:
        return default
    return value


def signin_url(next_url: str) -> str:
    """The sign-in page, coming back to ``next_url`` afterwards."""
    return "/signin?" + urlencode({"next": parse_local_url(next_url)})


# --- CSRF -----------------------------------------------------------------------------------------


def _csrf_secret(request: Request) -> str:
    """This browser's CSRF secret: from its cookie, or a new one the middleware will set."""
    known: str | None = getattr(request.state, _STATE_CSRF, None)
    if known:
        return known
    cookie = request.cookies.get(_settings(request).csrf_cookie_name, "")
    if _SECRET_SHAPE.fullmatch(cookie):
        secret = cookie
    else:
        secret = secrets.token_urlsafe(32)
        setattr(request.state, _STATE_CSRF_NEW, secret)
    setattr(request.state, _STATE_CSRF, secret)
    return secret


def csrf_token(request: Request) -> str:
    """The token a form on this page must send back as ``csrf_token`` (a Jinja global).

    Signed once per request: a page of 30 cards has 60 forms, and signing is an HMAC each
    (issue 9, bench/load.py). The signature has no timestamp, so every form gets the same value.
    """
    secret = _csrf_secret(request)
    signed: tuple[str, str] | None = getattr(request.state, _STATE_CSRF_TOKEN, None)
    if signed is None or signed[0] != secret:
        signed = (secret, URLSafeSerializer(request.app.state.secret, salt=_CSRF_SALT).dumps(secret))
        setattr(request.state, _STATE_CSRF_TOKEN, signed)
    return signed[1]


def _csrf_matches(request: Request, submitted: str) -> bool:
    cookie = request.cookies.get(_settings(request).csrf_cookie_name, "")
    if not _SECRET_SHAPE.fullmatch(cookie):
        return False
    try:
        signed = URLSafeSerializer(request.app.state.secret, salt=_CSRF_SALT).loads(submitted)
    except BadSignature:
        return False
    return isinstance(signed, str) and hmac.compare_digest(signed.encode(), cookie.encode())


async def verify_csrf(request: Request) -> None:
    """Reject a state-changing request without a valid ``csrf_token`` (form field or X-CSRF-Token)."""
    if request.method in SAFE_METHODS:
        return
    submitted = request.headers.get(CSRF_HEADER)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if not submitted and content_type in _FORM_TYPES:
        value = (await request.form()).get(CSRF_FIELD)
        submitted = value if isinstance(value, str) else None
    if not submitted or not _csrf_matches(request, submitted):
        raise HTTPException(403, CSRF_REJECTED)


class CsrfCookieMiddleware:
    """Sets the CSRF cookie on the response of a request that minted a new secret."""

    def __init__(self, app: ASGIApp, *, cookie_name: str) -> None:
        self.app = app
        self.cookie_name = cookie_name

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state: dict[str, Any] = scope.setdefault("state", {})

        async def send_with_cookie(message: Message) -> None:
            secret = state.get(_STATE_CSRF_NEW)
            if message["type"] == "http.response.start" and secret:
                carrier = Response()
                carrier.set_cookie(
                    self.cookie_name,
                    secret,
                    max_age=_CSRF_COOKIE_DAYS * 86400,
                    path="/",
                    httponly=True,
                    samesite="lax",
                    secure=scope.get("scheme") == "https",
                )
                MutableHeaders(scope=message).append("set-cookie", carrier.headers["set-cookie"])
            await send(message)

        await self.app(scope, receive, send_with_cookie)


# --- response headers -----------------------------------------------------------------------------

# No inline script or style anywhere (the pages load /static/app.js and /static/style.css; the
# API docs their own files): an injected <script>, onclick= or javascript: link cannot run even
# if one slipped past the templates' escaping and the http(s)-only link rule (domain/links.py).
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    )
)
# Links out of the site carry no Referer: paths such as /unsubscribe/<token> hold secrets.
REFERRER_POLICY = "same-origin"
SECURITY_HEADERS = (
    ("content-security-policy", CONTENT_SECURITY_POLICY),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", REFERRER_POLICY),
    ("x-frame-options", "DENY"),
)


class SecurityHeadersMiddleware:
    """Adds the Content-Security-Policy and its companions to every response, errors and files too.

    A header a route set itself (a stricter ``Referrer-Policy: no-referrer`` on sign-in links) is kept.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS:
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


# --- sessions -------------------------------------------------------------------------------------


def _session_signer(request: Request) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(request.app.state.secret, salt=_SESSION_SALT)


def write_session(response: Response, request: Request, user: User) -> None:
    """Sign ``user`` in on this browser: set the session cookie on ``response``."""
    settings = _settings(request)
    value = _session_signer(request).dumps({"u": user.id, "e": user.session_epoch})
    response.set_cookie(
        settings.session_cookie_name,
        value,
        max_age=settings.session_days * 86400,
        path="/",
        httponly=True,
        samesite="lax",
        secure=is_https(request),
    )


def clear_session(response: Response, request: Request) -> None:
    """Sign this browser out: expire the session cookie."""
    response.delete_cookie(
        _settings(request).session_cookie_name, path="/", httponly=True, samesite="lax", secure=is_https(request)
    )


def _session_claim(request: Request) -> tuple[int, int] | None:
    settings = _settings(request)
    raw = request.cookies.get(settings.session_cookie_name)
    if not raw:
        return None
    try:
        data = _session_signer(request).loads(raw, max_age=settings.session_days * 86400)
    except BadSignature:  # includes SignatureExpired
        return None
    if not isinstance(data, dict) or not isinstance(data.get("u"), int) or not isinstance(data.get("e"), int):
        return None
    return data["u"], data["e"]


def session_user(request: Request) -> User | None:
    """The signed-in user, or None; looked up once per request (also a Jinja global)."""
    if hasattr(request.state, _STATE_USER):
        cached: User | None = getattr(request.state, _STATE_USER)
        return cached
    user = None
    claim = _session_claim(request)
    if claim is not None:
        with request.app.state.engine.connect() as conn:
            found = get_user(conn, claim[0])
        if found is not None and found.session_epoch == claim[1]:
            user = found
    setattr(request.state, _STATE_USER, user)
    return user


def current_user(request: Request) -> User | None:
    """FastAPI dependency: the signed-in user or None."""
    return session_user(request)


def require_user(request: Request) -> User:
    """FastAPI dependency: the signed-in user; anyone else is sent to sign in and brought back."""
    user = session_user(request)
    if user is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(target if request.method in SAFE_METHODS else "/")
    return user


CsrfDep = Annotated[None, Depends(verify_csrf)]
OptionalUserDep = Annotated[User | None, Depends(current_user)]
UserDep = Annotated[User, Depends(require_user)]


def wants_json(request: Request) -> bool:
    """Whether the caller is a script or fetch() asking for JSON rather than a page."""
    return request.url.path.startswith("/api/") or "application/json" in request.headers.get("accept", "")


def install_security(app: FastAPI, settings: Settings) -> None:
    """Add the CSRF cookie and security header middleware and the answer to ``SignInRequired``."""
    app.add_middleware(CsrfCookieMiddleware, cookie_name=settings.csrf_cookie_name)
    app.add_middleware(SecurityHeadersMiddleware)

    @app.exception_handler(SignInRequired)
    async def ask_to_sign_in(request: Request, error: SignInRequired) -> Response:
        url = signin_url(error.next_url)
        if wants_json(request):
            return JSONResponse({"detail": "Sign in first.", "signin_url": url}, status_code=401)
        return RedirectResponse(url, status_code=303)
