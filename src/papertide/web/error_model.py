"""The one error shape of every machine-readable answer (API, feeds), and its OpenAPI entries.

web/problems.py decides which status a domain error gets; this module says what its body looks like.

Every 4xx and 5xx that the API and the feeds send is a :class:`ProblemOut`: ``detail`` is a
sentence a client can show as is, ``errors`` maps each bad field to what is wrong. Routes list
the statuses they can answer with ``documented(...)`` so that /api/v1/openapi.json says what
really comes back (issue 9: FastAPI's default 422 schema promised an array nobody sent, and
400/404 were missing). Text echoed back is scrubbed: a request carrying a lone surrogate must
get its 4xx, not a 500 from the JSON encoder.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from papertide.domain.plain_text import scrub_text


class ProblemOut(BaseModel):
    """An error a client can show as is."""

    detail: str = Field(description="What was wrong, in a sentence.")
    errors: dict[str, str] | None = Field(
        None, description="For invalid input: each bad field (dotted path) and what is wrong with it."
    )


_MEANINGS = {
    400: "The request cannot be understood: invalid query syntax, text that is not valid Unicode, bad paging.",
    401: "Signing in is needed (a session cookie).",
    403: "Not allowed: not yours, a suspended account, a missing CSRF token, or a moderator's action.",
    404: "Nothing exists at this address.",
    422: "A field is missing, of the wrong type or out of range; `errors` names each one.",
    429: "Too many requests; wait the seconds `Retry-After` gives.",
    503: "Temporarily unavailable (the database is busy, or no embedding model); retry after `Retry-After`.",
}

# Every route can answer these: text that is not valid Unicode (400), a field out of range
# (422), a database that is busy (503).
COMMON_STATUSES = (400, 422, 503)


def is_machine_path(path: str) -> bool:
    """Whether ``path`` is read by programs (API, feeds): its errors are ProblemOut JSON, never a page."""
    return path.startswith(("/api/", "/feeds/")) or path.endswith((".atom", ".rss"))


def documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries of ``statuses``, each answered with a ProblemOut."""
    return {status: {"model": ProblemOut, "description": _MEANINGS[status]} for status in statuses}


def problem_json(
    status: int,
    detail: str,
    *,
    errors: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """A ProblemOut as JSON; every string is made encodable first, whatever the client sent."""
    body: dict[str, Any] = {"detail": scrub_text(detail)}
    if errors is not None:
        body["errors"] = {scrub_text(str(name)): scrub_text(str(text)) for name, text in errors.items()}
    return JSONResponse(body, status_code=status, headers=dict(headers) if headers else None)
