"""The composition root: one Services object per process, built from settings without connecting (issue 12)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from papertide import services as services_module
from papertide.config import Settings
from papertide.search.semantic.searcher import SemanticSearcher
from papertide.services import Services
from papertide.web.app import create_app


def test_building_the_services_opens_no_database_index_or_key(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    settings = Settings(data_dir=data_dir, database_url=f"sqlite:///{data_dir / 'papertide.db'}")
    services = Services(settings)
    services.scheduled_jobs()
    # make_engine prepares the SQLite file's folder; the file, the indexes and the key wait for first use.
    assert list(data_dir.iterdir()) == []
    services.close()


def test_search_and_indexing_share_one_lexical_index_and_one_semantic_searcher(
    settings: Settings, sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[SemanticSearcher] = []

    def open_counted(settings: Settings, engine: Engine) -> SemanticSearcher:
        opened.append(real_open(settings, engine))
        return opened[-1]

    real_open = services_module.open_semantic_searcher
    monkeypatch.setattr(services_module, "open_semantic_searcher", open_counted)
    services = Services(settings)
    assert services.search.lexical is services.indexer.lexical
    assert opened == []
    searched = services.search.semantic()
    assert services.indexer.catch_up_semantic() == (0, "")
    assert [searched] == opened and services.semantic() is searched
    services.close()


def test_the_app_uses_the_services_it_is_given_and_refuses_ones_of_other_settings(settings: Settings) -> None:
    services = Services(settings)
    app = create_app(settings, services=services)
    assert app.state.services is services and app.state.engine is services.engine
    with pytest.raises(ValueError, match="other settings"):
        create_app(settings.model_copy(update={"site_name": "elsewhere"}), services=services)
    services.close()
