"""Fixtures of the web tests: clients over the real app, with a hand-moved clock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from papertide.config import Settings
from papertide.web.app import create_app
from tests.community_flow import ClientFactory, Clock


@pytest.fixture
def clock() -> Clock:
    """The app's clock; a module with its own "now" overrides this fixture."""
    return Clock(dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.UTC))


@pytest.fixture
def app_engine(corpus_engine: Engine) -> Engine:
    """The database the app serves: the small corpus, unless a module overrides this fixture."""
    return corpus_engine


@pytest.fixture
def make_client(settings: Settings, app_engine: Engine, clock: Clock) -> Iterator[ClientFactory]:
    """Build clients over the app (lifespan started, as `serve` runs it), all closed after the test.

    ``build(now=None, base_url=..., follow_redirects=True, **overrides)``: ``overrides`` replace
    settings for that client; ``now`` gives it its own fixed clock instead of ``clock``.
    """
    opened: list[TestClient] = []

    def build(
        *,
        now: dt.datetime | None = None,
        base_url: str = "http://testserver",
        follow_redirects: bool = True,
        **overrides: Any,
    ) -> TestClient:
        app = create_app(settings.model_copy(update=overrides))
        app.state.clock = clock if now is None else Clock(now)
        client = TestClient(app, base_url=base_url, follow_redirects=follow_redirects)
        client.__enter__()
        opened.append(client)
        return client

    yield build
    for client in opened:
        client.__exit__(None, None, None)
