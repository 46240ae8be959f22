"""The JSON API under ``/api/v1``, one module per resource (OpenAPI at ``/api/v1/openapi.json``)."""

from __future__ import annotations

from fastapi import APIRouter

from papertide.web.error_model import COMMON_STATUSES, documented
from papertide.web.routes.api import authors, collections, community, papers, search, subscriptions, trending

router = APIRouter(prefix="/api/v1", responses=documented(*COMMON_STATUSES))
# community before papers: /papers/{arxiv_id:path} would take "X/comments" as an id.
for _module in (trending, search, community, papers, subscriptions, collections, authors):
    router.include_router(_module.router)
