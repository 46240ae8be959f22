"""The one HTTP client of every network source, polite as arXiv asks.

arXiv's terms (https://info.arxiv.org/help/api/tou.html) ask for no more than one request every
three seconds, a descriptive User-Agent, and backing off when the server says so (503 with
``Retry-After`` on OAI-PMH). Spacing, retries and back-off live here once instead of in each
source; sleeping and the clock are injectable so tests check the waits without waiting.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import TracebackType

import httpx

from papertide.domain.clock import as_utc, utc_now
from papertide.domain.errors import PapertideError

log = logging.getLogger(__name__)

# Server-side trouble worth another try; any other 4xx means the request itself is wrong.
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


class FetchError(PapertideError):
    """A source could not be fetched: a refused request, or no answer after every retry."""


class Stopped(PapertideError):
    """The run was asked to stop (the service is shutting down) before it finished."""


@dataclass(frozen=True, slots=True)
class Politeness:
    """How a client treats a server: identification, spacing and patience."""

    user_agent: str
    spacing_s: float = 3.0
    timeout_s: float = 30.0
    retries: int = 4
    backoff_s: float = 5.0
    max_wait_s: float = 600.0


@dataclass(frozen=True, slots=True)
class Fetched:
    """A successful response: where it came from and its body."""

    url: str
    status: int
    content_type: str
    content: bytes


def parse_retry_after(value: str | None, now: dt.datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, (as_utc(when) - now).total_seconds())


class PoliteClient:
    """GET with spacing between requests, retries with exponential back-off, and Retry-After."""

    def __init__(
        self,
        source: str,
        politeness: Politeness,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], object] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> None:
        self.source = source
        self.politeness = politeness
        self._sleep = sleep
        self._monotonic = monotonic
        self._should_stop = should_stop
        self._last_request: float | None = None
        self._client = httpx.Client(
            headers={"User-Agent": politeness.user_agent},
            timeout=politeness.timeout_s,
            follow_redirects=True,
            transport=transport,
        )

    def __enter__(self) -> PoliteClient:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def _pause(self, seconds: float) -> None:
        if seconds > 0:
            self._sleep(seconds)
        if self._should_stop():
            raise Stopped(f"{self.source}: stopped before the end of the run")

    def _wait_turn(self) -> None:
        if self._last_request is not None:
            self._pause(self.politeness.spacing_s - (self._monotonic() - self._last_request))
        elif self._should_stop():
            raise Stopped(f"{self.source}: stopped before the end of the run")
        self._last_request = self._monotonic()

    def fetch(self, url: str, params: Mapping[str, str | int] | None = None) -> Fetched:
        """The body of a successful GET; raises FetchError when the server refuses or never answers."""
        shown = str(httpx.URL(url, params=params))
        rules = self.politeness
        for attempt in range(rules.retries + 1):
            self._wait_turn()
            wait = min(rules.backoff_s * 2**attempt, rules.max_wait_s)
            try:
                response = self._client.get(url, params=params)
            except httpx.TimeoutException:
                problem = f"no answer within {rules.timeout_s:g} s"
            except httpx.TransportError as error:
                if _unresolvable(error):
                    # A name that does not resolve will not resolve in a minute either: no back-off.
                    host = httpx.URL(url).host
                    raise FetchError(
                        f"{self.source}: the host name {host!r} of {shown} does not resolve ({error}); "
                        "check the URL setting and this machine's DNS and network"
                    ) from None
                problem = f"connection failed ({error})"
            else:
                if response.status_code < 400:
                    return Fetched(
                        url=str(response.url),
                        status=response.status_code,
                        content_type=response.headers.get("content-type", ""),
                        content=response.content,
                    )
                if response.status_code not in RETRY_STATUSES and response.status_code < 500:
                    raise FetchError(
                        f"{self.source}: {shown} answered HTTP {response.status_code}: {_excerpt(response)}"
                    )
                problem = f"HTTP {response.status_code}"
                asked = parse_retry_after(response.headers.get("retry-after"), utc_now())
                if asked is not None:
                    if asked > rules.max_wait_s:
                        raise FetchError(
                            f"{self.source}: {shown} asked to retry after {asked:g} s, "
                            f"longer than the maximum wait of {rules.max_wait_s:g} s; run again later"
                        )
                    wait = asked
            if attempt == rules.retries:
                raise FetchError(f"{self.source}: {shown}: {problem}; gave up after {attempt + 1} tries")
            log.warning("%s: %s: %s; retrying in %g s", self.source, shown, problem, wait)
            self._pause(wait)
        raise AssertionError("unreachable")


def _unresolvable(error: BaseException) -> bool:
    """Whether a transport error comes from a failed DNS lookup (socket.gaierror somewhere in its chain)."""
    seen: BaseException | None = error
    for _ in range(10):  # the chain is short (httpx -> httpcore -> socket); never loop on a cycle
        if seen is None:
            return False
        if isinstance(seen, socket.gaierror):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _excerpt(response: httpx.Response, limit: int = 200) -> str:
    text = " ".join(response.text.split())
    return text[:limit] + ("…" if len(text) > limit else "")
