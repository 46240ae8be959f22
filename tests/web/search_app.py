"""The app over the themed search corpus, with a deterministic stand-in for the embedding model."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from papertide.config import Settings
from papertide.search.query import SearchService
from papertide.search.request import SemanticRanker
from papertide.services import Services
from papertide.web.app import create_app
from tests.search.search_corpus import THEMED, FakeSemantic, Paper, store, texts_of


@contextmanager
def search_client(
    settings: Settings, engine: Engine, *extra: Paper, semantic: bool = True, semantic_error: Exception | None = None
) -> Iterator[TestClient]:
    """A TestClient (lifespan run) over the themed corpus plus ``extra`` papers.

    :param semantic: give the app the fake semantic searcher; False: no model, as on a box without one.
    :param semantic_error: what opening the semantic searcher raises (a damaged index, ...), if anything.
    """
    store(engine, *THEMED, *extra)
    services = Services(settings)
    built = services.search
    fake = FakeSemantic(texts_of(engine))

    def load() -> SemanticRanker:
        if not semantic:
            raise OSError("no embedding model in this test")
        if semantic_error is not None:
            raise semantic_error
        return fake

    # The routes search through the services (web/search_results.py): swap in the stand-in there.
    services.search = SearchService(built.engine, built.lexical, load, built.options, built.rank_trending)
    with TestClient(create_app(settings, services=services)) as client:
        yield client
