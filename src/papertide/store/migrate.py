"""Schema migrations through Alembic, run on an engine papertide already built."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

from papertide.store.engine import begin_write

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


# Key of the PostgreSQL advisory lock every process takes before migrating (any fixed 64-bit number).
MIGRATION_LOCK_KEY = 0x7061_7065_7274_6964  # "papertid"


def upgrade_database(engine: Engine, revision: str = "head") -> None:
    """Bring the schema up to ``revision`` (the newest by default) in one transaction.

    On PostgreSQL the transaction first takes an advisory lock: web processes and workers that
    start together on a fresh database (systemd, compose) migrate one after the other, and the
    later ones find the schema current, instead of racing to create the same tables (issue 14).
    SQLite's BEGIN IMMEDIATE (``begin_write``) already serialises them.
    """
    config = _config()
    with begin_write(engine) as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def downgrade_database(engine: Engine, revision: str) -> None:
    """Take the schema back down to ``revision``."""
    config = _config()
    with begin_write(engine) as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None for an empty database."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


@cache
def head_revision() -> str | None:
    """The newest revision this version of papertide ships.

    Read once per process: finding it imports every migration script, which cost /healthz
    about 20 ms a call (issue 9, bench/load.py), and the scripts cannot change under a running
    papertide.
    """
    return ScriptDirectory.from_config(_config()).get_current_head()


def is_up_to_date(engine: Engine) -> bool:
    """Whether the database needs no migration."""
    return current_revision(engine) == head_revision()
