"""Community service errors as HTTP answers, the same way for pages, forms and the JSON API.

The services (papertide.community) raise domain errors carrying a sentence meant for the
member; this turns each into the status docs/community.md suggests, keeping that sentence.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import HTTPException

from papertide.domain.errors import Forbidden, InvalidInput, NotFound, RateLimited


def as_http(error: Exception) -> HTTPException:
    """The HTTP error of one community error (ProfileRequired, a Forbidden, is a 403 that says what to do)."""
    if isinstance(error, RateLimited):
        return HTTPException(429, str(error), headers={"Retry-After": str(error.retry_after_seconds)})
    if isinstance(error, NotFound):
        return HTTPException(404, _sentence(error))
    if isinstance(error, Forbidden):
        return HTTPException(403, _sentence(error))
    if isinstance(error, InvalidInput):
        return HTTPException(422, _sentence(error))
    raise error


@contextmanager
def community_errors() -> Iterator[None]:
    """Run a service call; its NotFound, Forbidden, InvalidInput and RateLimited become HTTP errors."""
    try:
        yield
    except (NotFound, Forbidden, InvalidInput, RateLimited) as error:
        raise as_http(error) from None


def _sentence(error: Exception) -> str:
    text = str(error)
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")
