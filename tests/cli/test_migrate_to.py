"""`papertide migrate-to`: the sample installation moves to PostgreSQL and searches the same (issue 14)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import Result

from papertide.store.engine import make_engine
from papertide.store.migrate import current_revision, downgrade_database, head_revision
from papertide.store.schema import metadata
from tests.cli_runner import run_papertide

QUERIES = ("learning chaotic dynamics", "diffusion models that generate images")
MODES = ("lexical", "semantic", "hybrid")
# The torch backend needs no ONNX export, so the model is ready in a second.
TORCH = {"PAPERTIDE_EMBEDDING_BACKEND": "torch"}


def _said(result: Result) -> str:
    """What the command told the person, on one line (rich wraps long lines at 80 columns)."""
    return " ".join(result.stderr.split())


def _refused(result: Result, message: str) -> None:
    """The command failed with ``message``, and no traceback (rich may fold a long word anywhere)."""
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert result.stderr.startswith("error:")
    assert "".join(message.split()) in "".join(result.stderr.split())


def _top_ids(data_dir: Path, **env: str) -> dict[tuple[str, str], list[str]]:
    found = {}
    for query in QUERIES:
        for mode in MODES:
            result = run_papertide(data_dir, "search", query, "--mode", mode, "--json", "--limit", "10", **TORCH, **env)
            assert result.exit_code == 0, result.stderr
            found[query, mode] = [json.loads(line)["arxiv_id"] for line in result.stdout.splitlines()]
            assert len(found[query, mode]) == 10
    return found


@pytest.mark.slow
def test_the_sample_installation_moves_to_postgresql_with_equal_counts_and_equal_search_results(
    tmp_path: Path, empty_postgres_url: str
) -> None:
    here = tmp_path / "sqlite-host"
    built = run_papertide(here, "init", "--sample", "--today", "2027-03-10", **TORCH)
    assert built.exit_code == 0, built.stderr
    before = _top_ids(here)

    moved = run_papertide(here, "migrate-to", empty_postgres_url, "--json")
    assert moved.exit_code == 0, moved.stderr
    checks = {line["table"]: line for line in map(json.loads, moved.stdout.splitlines())}
    assert set(checks) == set(metadata.tables)
    assert all(check["matches"] and check["source_rows"] == check["target_rows"] for check in checks.values())
    assert checks["papers"]["target_rows"] == 4000 and checks["paper_vectors"]["target_rows"] == 4000
    assert "every table matches" in _said(moved)

    # The same data directory, now on PostgreSQL: its indexes are replicas of the copy and only catch up.
    on_postgres = {"PAPERTIDE_DATABASE_URL": empty_postgres_url, **TORCH}
    caught_up = run_papertide(here, "index", **on_postgres)
    assert caught_up.exit_code == 0, caught_up.stderr
    assert "lexical index: 0 papers applied; embedded: 0" in _said(caught_up)
    # A new host builds its indexes from the copied rows and vectors: nothing is embedded.
    new_host = tmp_path / "new-host"
    built_there = run_papertide(new_host, "index", **on_postgres)
    assert built_there.exit_code == 0, built_there.stderr
    assert "lexical index: 4000 papers applied; embedded: 0" in _said(built_there)
    assert _top_ids(new_host, PAPERTIDE_DATABASE_URL=empty_postgres_url) == before

    again = run_papertide(here, "migrate-to", empty_postgres_url)
    _refused(again, "the target database already holds papertide data (counters 3,")
    _refused(again, "papers 4000, paper_authors")


@pytest.fixture
def installed(tmp_path: Path) -> Path:
    data_dir = tmp_path / "data"
    assert run_papertide(data_dir, "db", "upgrade").exit_code == 0
    return data_dir


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("not a url", "'not a url' is not a database URL; expected postgresql+psycopg://"),
        ("postgresql+psycopg://u@host:port/db", "'postgresql+psycopg://u@host:port/db' is not a database URL"),
        ("sqlite:///elsewhere.db", "the target must be a PostgreSQL database"),
        ("postgresql+asyncpg://u@localhost/db", "write postgresql+psycopg://, not postgresql+asyncpg://"),
        ("postgresql+psycopg://u@localhost", "the target URL names no database"),
    ],
)
def test_a_target_url_that_is_not_a_postgresql_database_is_refused_in_one_line(
    installed: Path, target: str, message: str
) -> None:
    _refused(run_papertide(installed, "migrate-to", target), message)


def test_an_unreachable_server_is_named_without_its_password(installed: Path) -> None:
    result = run_papertide(installed, "migrate-to", "postgresql://ada:s3cret@127.0.0.1:1/papertide")
    _refused(result, "cannot use the target database postgresql+psycopg://ada:***@127.0.0.1:1/papertide")
    assert "s3cret" not in result.output


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"this is not sqlite at all" * 100, "not a SQLite database"),
        (None, "not a papertide database"),
    ],
)
def test_a_source_that_is_not_a_papertide_database_is_refused_and_left_untouched(
    tmp_path: Path, content: bytes | None, message: str
) -> None:
    path = tmp_path / "other.db"
    if content is None:
        connection = sqlite3.connect(path)
        connection.execute("CREATE TABLE notes (body TEXT)")
        connection.commit()
        connection.close()
    else:
        path.write_bytes(content)
    before = path.read_bytes()
    result = run_papertide(
        tmp_path / "data",
        "migrate-to",
        "postgresql+psycopg://u@127.0.0.1:1/db",
        PAPERTIDE_DATABASE_URL=f"sqlite:///{path}",
    )
    _refused(result, f"{path}: {message}")
    assert path.read_bytes() == before
    assert sorted(item.name for item in tmp_path.iterdir()) == ["other.db"]


def test_a_missing_source_is_refused_and_not_created(tmp_path: Path) -> None:
    result = run_papertide(tmp_path / "data", "migrate-to", "postgresql+psycopg://u@127.0.0.1:1/db")
    _refused(result, f"{tmp_path / 'data' / 'papertide.db'}: no such database file")
    assert not (tmp_path / "data" / "papertide.db").exists()


def test_a_source_at_an_older_schema_is_sent_to_db_upgrade_first(installed: Path) -> None:
    engine = make_engine(f"sqlite:///{installed / 'papertide.db'}")
    downgrade_database(engine, "-1")
    older = current_revision(engine)
    engine.dispose()
    result = run_papertide(installed, "migrate-to", "postgresql+psycopg://u@127.0.0.1:1/db")
    _refused(result, f"schema {older}, and this papertide writes {head_revision()}")
    _refused(result, "run `papertide db upgrade` first")


def test_an_installation_already_on_postgresql_is_pointed_to_pg_dump(tmp_path: Path) -> None:
    result = run_papertide(
        tmp_path,
        "migrate-to",
        "postgresql+psycopg://u@127.0.0.1:1/db",
        PAPERTIDE_DATABASE_URL="postgresql+psycopg://u@127.0.0.1:2/source",
    )
    _refused(result, "copies a SQLite installation, and this one is on postgresql")
