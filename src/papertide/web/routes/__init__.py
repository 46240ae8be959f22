"""The app's routes, one module per resource; ``ROUTERS`` is the order create_app includes them in.

Order matters in one place: ``/papers/{arxiv_id:path}`` (papers.py) matches every address under
``/papers/``, so the lists' ``/papers/date``, ``/papers/week`` and ``/papers/month`` (trending.py)
come before it. The API's ``/api/v1/papers/{arxiv_id:path}/similar`` is kept ahead of
``/api/v1/papers/{arxiv_id:path}`` inside api/papers.py.
"""

from __future__ import annotations

from fastapi import APIRouter

from papertide.web.routes import (
    account,
    api,
    comments,
    feeds,
    health,
    moderation,
    papers,
    profile,
    search,
    submit,
    subscriptions,
    trending,
)

ROUTERS: tuple[APIRouter, ...] = (
    health.router,
    trending.router,  # before papers.router: see above
    account.router,
    profile.router,
    submit.router,
    moderation.router,
    api.router,
    feeds.router,
    subscriptions.router,
    search.router,
    comments.router,  # before papers.router: /papers/{arxiv_id}/comments.atom
    papers.router,  # last: /papers/{arxiv_id:path} would swallow any /papers/... route included after it
)
