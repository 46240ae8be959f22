"""The JSON API under ``/api/v1``, one module per resource (OpenAPI at ``/api/v1/openapi.json``)."""

from __future__ import annotations

from fastapi import APIRouter

from papertide.web.problems import COMMON_STATUSES, documented
from papertide.web.routes.api import papers, search, subscriptions, trending

router = APIRouter(prefix="/api/v1", responses=documented(*COMMON_STATUSES))
for _module in (trending, search, papers, subscriptions):
    router.include_router(_module.router)
