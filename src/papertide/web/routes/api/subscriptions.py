"""``POST /api/v1/subscriptions``: the digest's sign-up for scripts, double opt-in as on the pages.

The same service as the subscribe form (digest/subscription.run_signup), so the same addresses
are accepted, the same limits apply and the answer is the same whoever is already subscribed.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from papertide.digest.preferences import InvalidSubscription, parse_preferences
from papertide.digest.subscription import MailUnavailable, TooManyRequests, run_signup
from papertide.web.clock import NowDep
from papertide.web.deps import ComposerDep, EngineDep, ServicesDep, TransportDep
from papertide.web.error_model import documented, problem_json
from papertide.web.routes.subscriptions import SENT_TEXT
from papertide.web.security import client_address

router = APIRouter()


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


@router.post("/subscriptions", status_code=202, tags=["digest"], response_model=None, responses=documented(429))
def create_subscription(
    body: SubscriptionRequest,
    request: Request,
    engine: EngineDep,
    services: ServicesDep,
    composer: ComposerDep,
    transport: TransportDep,
    now: NowDep,
) -> Response:
    """Subscribe an address to the digest (double opt-in): 202 whether or not it was already subscribed."""
    fields = body.model_dump(exclude_none=True, exclude={"email"})
    try:
        defaults = parse_preferences(fields, services.signup_defaults)
        run_signup(
            engine,
            transport,
            composer,
            body.email,
            now=now,
            client=client_address(request),
            defaults=defaults,
            limits=services.signup_limits,
            pending_expiry=services.digest_policy.pending_expiry,
        )
    except InvalidSubscription as error:
        return problem_json(422, str(error), errors=error.problems)
    except TooManyRequests as error:
        return problem_json(429, str(error), headers={"Retry-After": str(error.retry_after)})
    except MailUnavailable as error:
        return problem_json(503, str(error))
    return JSONResponse({"status": "accepted", "detail": SENT_TEXT}, status_code=202)
