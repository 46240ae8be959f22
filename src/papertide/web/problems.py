"""Domain errors as HTTP answers, in one place (docs/community.md has the table).

Routes let the community services' errors (``papertide.domain.errors``) and the submission
errors (``ingest/submission.py``) propagate; ``install_problem_handlers`` turns them into a page
or JSON with the status below. Forms that re-render themselves with the message (the submit
form) call ``status_for`` so the status stays the same as everywhere else.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from papertide.domain.errors import (
    Forbidden,
    InvalidInput,
    NotFound,
    PapertideError,
    ProfileRequired,
    RateLimited,
    Suspended,
)
from papertide.domain.plain_text import scrub_text
from papertide.ingest.submission import ArxivUnavailable, PaperWithdrawn
from papertide.web.error_model import is_machine_path
from papertide.web.security import parse_local_url, wants_json

PROFILE_FORM = "/account/profile"

# Most specific first: the first class an error is an instance of decides.
_STATUSES: tuple[tuple[type[PapertideError], int, str], ...] = (
    (RateLimited, 429, "Too many requests"),
    (ArxivUnavailable, 503, "arXiv is not answering"),
    (PaperWithdrawn, 422, "Paper withdrawn"),
    (Suspended, 403, "Account suspended"),
    (ProfileRequired, 403, "Choose a handle first"),
    (Forbidden, 403, "Not allowed"),
    (NotFound, 404, "Not found"),
    (InvalidInput, 422, "Cannot accept this"),
)


def status_for(error: PapertideError) -> tuple[int, str]:
    """The HTTP status and page title of a domain error (400 for one not in the table)."""
    for kind, status, title in _STATUSES:
        if isinstance(error, kind):
            return status, title
    return 400, "Bad request"


def describe(error: PapertideError) -> str:
    """The sentence for the member, starting with a capital letter."""
    text = str(error) or error.__class__.__name__
    return text[:1].upper() + text[1:]


def headers_for(error: PapertideError) -> dict[str, str]:
    """Retry-After for rate limits; nothing otherwise."""
    if isinstance(error, RateLimited):
        return {"Retry-After": str(max(1, error.retry_after_seconds))}
    return {}


def profile_form_url(next_url: str) -> str:
    """The profile form, coming back to ``next_url`` once a handle is chosen."""
    return f"{PROFILE_FORM}?next={quote(next_url, safe='/')}"


def problem_response(request: Request, error: PapertideError) -> Response:
    """The answer to a request a domain error stopped: a redirect to the profile form, JSON or a page."""
    status, title = status_for(error)
    detail = describe(error)
    headers = headers_for(error)
    # Feeds too: their documented errors are JSON (per-collection, author and member feeds included).
    if wants_json(request) or is_machine_path(request.url.path):
        # Scrubbed: the message may quote what the client sent (web/error_model.py).
        body: dict[str, object] = {"detail": scrub_text(detail)}
        if isinstance(error, InvalidInput):
            body["field"] = scrub_text(error.field)
            body["errors"] = {scrub_text(error.field): scrub_text(error.reason)}
        if isinstance(error, ProfileRequired):
            body["profile_url"] = PROFILE_FORM
        return JSONResponse(body, status_code=status, headers=headers)
    if isinstance(error, ProfileRequired):
        back = request.headers.get("referer", "") if request.method == "POST" else str(request.url.path)
        return RedirectResponse(profile_form_url(_local(back)), status_code=303)
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(
        request, "error.html", {"status": status, "title": title, "detail": detail}, status_code=status, headers=headers
    )


def _local(url: str) -> str:
    """The path and query of a Referer (only this site's addresses are kept)."""
    if "://" in url:
        rest = url.split("://", 1)[1]
        url = "/" + rest.split("/", 1)[1] if "/" in rest else "/"
    return parse_local_url(url, "/")


def install_problem_handlers(app: FastAPI) -> None:
    """Answer every uncaught domain error with its status (after create_app's generic handlers)."""

    @app.exception_handler(PapertideError)
    async def domain_error(request: Request, error: PapertideError) -> Response:
        return problem_response(request, error)
