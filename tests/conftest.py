"""Shared fixtures: real SQLite files, a real PostgreSQL, the app over ASGI, a small corpus.

Each test gets its own database: a fresh SQLite file, or a fresh PostgreSQL database cloned
from a migrated template. Tests migrate through Alembic; nothing calls create_all.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from sqlalchemy import Engine, make_url

from papertide.config import Settings
from papertide.store.engine import make_engine
from papertide.store.migrate import upgrade_database
from tests.corpus import load_small_corpus

# --- property-based tests ----------------------------------------------------------------------

# Bounded and derandomized: the same examples on every machine and every run, a few seconds in all
# (issue 9). PAPERTIDE_HYPOTHESIS_PROFILE=thorough searches much wider, e.g. before a release.
_PROFILE = {"deadline": None, "database": None, "suppress_health_check": [HealthCheck.function_scoped_fixture]}
hypothesis_settings.register_profile("papertide", max_examples=80, derandomize=True, **_PROFILE)  # type: ignore[arg-type]
hypothesis_settings.register_profile("thorough", max_examples=5000, **_PROFILE)  # type: ignore[arg-type]
hypothesis_settings.load_profile(os.environ.get("PAPERTIDE_HYPOTHESIS_PROFILE", "papertide"))

# --- PostgreSQL ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_base_url() -> Iterator[str | None]:
    """URL of a PostgreSQL server for the run, or None when none is available.

    PAPERTIDE_TEST_POSTGRES_URL wins; otherwise, when PAPERTIDE_TEST_EMBEDDED_POSTGRES=1 (set by
    `make test`), an embedded server is started for the session and removed afterwards.
    """
    configured = os.environ.get("PAPERTIDE_TEST_POSTGRES_URL")
    if configured:
        yield configured
        return
    if os.environ.get("PAPERTIDE_TEST_EMBEDDED_POSTGRES") != "1":
        yield None
        return
    from tests.postgres_server import start_embedded_postgres

    root = Path(tempfile.mkdtemp(prefix="papertide-pg-"))
    server, url = start_embedded_postgres(root / "pgdata")
    try:
        yield url
    finally:
        server.cleanup()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_template(postgres_base_url: str | None) -> str | None:
    """Name of a migrated template database that each test's database is cloned from."""
    if postgres_base_url is None:
        return None
    from tests.postgres_server import create_database

    url = create_database(postgres_base_url)
    engine = make_engine(url)
    upgrade_database(engine)
    engine.dispose()
    return str(make_url(url).database)


@pytest.fixture
def empty_postgres_url(postgres_base_url: str | None) -> str:
    """URL of a new PostgreSQL database with nothing in it, not even the schema (skips without PostgreSQL)."""
    from tests.postgres_server import create_database

    return create_database(_require_postgres(postgres_base_url))


def _clone_postgres(base_url: str, template: str) -> str:
    from tests.postgres_server import create_database

    return create_database(base_url, template=template)


def _require_postgres(base_url: str | None) -> str:
    if base_url is None:
        if os.environ.get("CI"):
            pytest.fail("CI must run the PostgreSQL tests: run them through `make test`")
        pytest.skip("no PostgreSQL: set PAPERTIDE_TEST_POSTGRES_URL or PAPERTIDE_TEST_EMBEDDED_POSTGRES=1")
    return base_url


# --- databases ----------------------------------------------------------------------------------


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """The data directory of one test."""
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture
def sqlite_url(data_dir: Path) -> str:
    """URL of a fresh SQLite file."""
    return f"sqlite:///{(data_dir / 'papertide.db').as_posix()}"


@pytest.fixture(params=["sqlite", "postgres"])
def dialect(request: pytest.FixtureRequest) -> str:
    """Run a test once per supported database."""
    return str(request.param)


@pytest.fixture
def database_url(dialect: str, sqlite_url: str, postgres_base_url: str | None, postgres_template: str | None) -> str:
    """A fresh, migrated database of the requested dialect."""
    if dialect == "sqlite":
        engine = make_engine(sqlite_url)
        upgrade_database(engine)
        engine.dispose()
        return sqlite_url
    base = _require_postgres(postgres_base_url)
    assert postgres_template is not None
    return _clone_postgres(base, postgres_template)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An engine on a fresh migrated database (both dialects)."""
    built = make_engine(database_url)
    yield built
    built.dispose()


@pytest.fixture
def sqlite_engine(sqlite_url: str) -> Iterator[Engine]:
    """An engine on a fresh migrated SQLite file, for tests of SQLite-only behaviour."""
    built = make_engine(sqlite_url)
    upgrade_database(built)
    yield built
    built.dispose()


@pytest.fixture
def corpus_engine(sqlite_engine: Engine) -> Engine:
    """SQLite with the small corpus stored."""
    load_small_corpus(sqlite_engine)
    return sqlite_engine


# --- embedding model ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def onnx_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the embedding model is exported to ONNX, once per test session (search/semantic/onnx.py).

    Per pytest-xdist worker, like every session fixture; tests/search and tests/fleet share it.
    """
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def model_cache(onnx_cache: Path) -> Path:
    """The session's ONNX export of the default model, int8 included (what papers are embedded with on a CPU).

    Commands that embed papers (ingest, a worker) would export the model into each test's fresh data
    directory, some 20 s apiece; those tests link the directory's models folder here instead
    (tests/cli_runner.link_model_cache). Exporting on first use is tested in tests/search/test_embedder.py.
    """
    from papertide.search.semantic.model import DEFAULT_MODEL, resolve_model
    from papertide.search.semantic.onnx import write_onnx_export

    write_onnx_export(resolve_model(DEFAULT_MODEL), onnx_cache, quantized=True)
    return onnx_cache


# --- app ----------------------------------------------------------------------------------------


@pytest.fixture
def settings(data_dir: Path, sqlite_url: str) -> Settings:
    """Settings of a test instance: its own data directory and SQLite file."""
    return Settings(
        data_dir=data_dir,
        database_url=sqlite_url,
        secret_key="test-secret-key-not-for-production",  # type: ignore[arg-type]
        base_url="http://testserver",
    )


@pytest.fixture
def client(settings: Settings, corpus_engine: Engine) -> Iterator[object]:
    """A TestClient over the app on the small corpus (runs the lifespan, like `serve`)."""
    from fastapi.testclient import TestClient

    from papertide.web.app import create_app

    with TestClient(create_app(settings)) as test_client:
        yield test_client
