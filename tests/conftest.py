"""Shared fixtures: real SQLite files, a real PostgreSQL, the app over ASGI, a small corpus.

Each test gets its own database: a fresh SQLite file, or a fresh PostgreSQL database cloned
from a migrated template. Tests migrate through Alembic; nothing calls create_all.

What is built once per pytest-xdist worker and copied per test (tests/README.md, "Speed"): the
migrated SQLite file, the same file with the small corpus stored, and a data directory after
`papertide ingest jsonl` of it (``loaded_dir``, copied whole). Each test still gets its own
file, made by copying a template that no test ever opens, so no state carries over; building both
by running every migration (and the ingest) per test cost more than half of a small test. The
migrations themselves keep their own tests on empty files (tests/store/test_migrations.py), and
`sqlite_url` stays an empty path for the tests that migrate or ingest on their own.
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from sqlalchemy import Engine, make_url

from papertide.cli.logs import StderrHandler
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

# --- logging ------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _cli_logging_undone() -> Iterator[None]:
    """Each test leaves the root logger as the CLI found it.

    A CLI test's command sets up the process's logging (cli/logs.py: a stderr handler, INFO): left
    in place, every later test's library records (the test mail server's connection lines) went to
    CI's log. Only the CLI's own handler is taken out: pytest's capture handlers are its own.
    """
    root = logging.getLogger()
    level = root.level
    yield
    for handler in [handler for handler in root.handlers if isinstance(handler, StderrHandler)]:
        root.removeHandler(handler)
    root.setLevel(level)


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
    from tests.postgres_server import remove_embedded_postgres, start_embedded_postgres

    root = Path(tempfile.mkdtemp(prefix="papertide-pg-"))
    server, url = start_embedded_postgres(root / "pgdata", skip_disk_flushes=True)
    try:
        yield url
    finally:
        remove_embedded_postgres(server)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pg_server_root() -> Iterator[Path]:
    """A folder for a server's data outside pytest's own temporary tree.

    Run as root, embedded_postgres runs the server as another user and opens up the folder's
    parents for it; pytest's tree (``/tmp/pytest-of-root``) is made owner-only again by each
    xdist worker as it starts, which took the server's own files away from it mid-initdb in CI.
    conftest.py's session server lives under a ``tempfile.mkdtemp`` folder for the same reason.
    """
    root = Path(tempfile.mkdtemp(prefix="papertide-pg-test-"))
    try:
        yield root
    finally:
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


@pytest.fixture(scope="session")
def migrated_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head once per worker; tests get copies of it (``copy_sqlite_file``), never it."""
    path = tmp_path_factory.mktemp("sqlite-template") / "migrated.db"
    engine = make_engine(f"sqlite:///{path.as_posix()}")
    upgrade_database(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def corpus_sqlite_template(tmp_path_factory: pytest.TempPathFactory, migrated_sqlite_template: Path) -> Path:
    """The migrated SQLite template with tests/data/papers_small.jsonl stored, once per worker."""
    path = tmp_path_factory.mktemp("sqlite-corpus-template") / "corpus.db"
    copy_sqlite_file(migrated_sqlite_template, f"sqlite:///{path.as_posix()}")
    engine = make_engine(f"sqlite:///{path.as_posix()}")
    load_small_corpus(engine)
    engine.dispose()
    return path


def copy_sqlite_file(template: Path, url: str) -> None:
    """Copy the template database to the (not yet existing) file of ``url``, owner-only like make_engine's files.

    sqlite3's online backup copies a consistent database whatever its WAL holds; the target is
    created 0600 first and must not exist (a test that already made its database fails loudly here).
    """
    target = Path(str(make_url(url).database))
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    source = sqlite3.connect(template)
    destination = sqlite3.connect(target)
    try:
        source.backup(destination)
    finally:
        destination.close()
        source.close()


@pytest.fixture
def database_url(
    dialect: str,
    sqlite_url: str,
    migrated_sqlite_template: Path,
    postgres_base_url: str | None,
    postgres_template: str | None,
) -> str:
    """A fresh, migrated database of the requested dialect."""
    if dialect == "sqlite":
        copy_sqlite_file(migrated_sqlite_template, sqlite_url)
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
def sqlite_engine(sqlite_url: str, migrated_sqlite_template: Path) -> Iterator[Engine]:
    """An engine on a fresh migrated SQLite file, for tests of SQLite-only behaviour."""
    copy_sqlite_file(migrated_sqlite_template, sqlite_url)
    built = make_engine(sqlite_url)
    yield built
    built.dispose()


@pytest.fixture
def corpus_engine(sqlite_url: str, corpus_sqlite_template: Path) -> Iterator[Engine]:
    """SQLite with the small corpus stored (a copy of the worker's corpus template)."""
    copy_sqlite_file(corpus_sqlite_template, sqlite_url)
    built = make_engine(sqlite_url)
    yield built
    built.dispose()


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


@pytest.fixture(scope="session")
def loaded_data_template(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Path:
    """A data directory after `papertide ingest jsonl` of the small corpus (papers, indexes, vectors), once per worker.

    The ingest embeds every paper with the real model (5-30 s); tests that only need a loaded
    directory get a copy of this one (``loaded_dir``); the ingest command keeps its own tests.
    """
    from tests.cli_runner import link_model_cache, run_papertide
    from tests.corpus import SMALL_CORPUS

    data_dir = link_model_cache(tmp_path_factory.mktemp("loaded") / "data", model_cache)
    result = run_papertide(data_dir, "ingest", "jsonl", str(SMALL_CORPUS))
    assert result.exit_code == 0, result.stderr
    return data_dir


@pytest.fixture
def loaded_dir(tmp_path: Path, loaded_data_template: Path) -> Path:
    """A data directory of its own with the small corpus ingested: a copy of the worker's template.

    The template's command has returned and closed its database, so its files are complete; the
    models folder stays a link to the session's export, and file modes (0600/0700) are copied.
    """
    target = tmp_path / "data"
    shutil.copytree(loaded_data_template, target, symlinks=True)
    return target


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
