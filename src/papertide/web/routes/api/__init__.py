"""The JSON API under ``/api/v1``, one module per resource (OpenAPI at ``/api/v1/openapi.json``)."""

from __future__ import annotations

from fastapi import APIRouter

from papertide.web.routes.api import authors, collections, papers, search, subscriptions, trending

router = APIRouter(prefix="/api/v1")
for _module in (trending, search, papers, subscriptions, collections, authors):
    router.include_router(_module.router)
