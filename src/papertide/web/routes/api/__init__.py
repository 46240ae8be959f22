"""The JSON API under ``/api/v1``, one module per resource (OpenAPI at ``/api/v1/openapi.json``)."""

from __future__ import annotations

from fastapi import APIRouter

from papertide.web.routes.api import community, papers, search, subscriptions, trending

router = APIRouter(prefix="/api/v1")
# community before papers: /papers/{arxiv_id:path} would take "X/comments" as an id.
for _module in (trending, search, community, papers, subscriptions):
    router.include_router(_module.router)
