"""What every command shares: this invocation's settings and services (on ``ctx.obj``), and the consoles.

The root callback (cli/__init__.py) puts an :class:`Invocation` on the Typer context; a command
asks it for what it needs. Settings load, and services are built, on first use, so ``--help``
works under any configuration and a command that needs no database opens none. Each run of
the app gets a fresh one, so tests call the CLI in-process with their own environment.
"""

from __future__ import annotations

from collections.abc import Callable

import typer
from rich.console import Console
from sqlalchemy import Engine

from papertide.cli.logs import configure_logging
from papertide.config import Settings, load_settings
from papertide.services import Services
from papertide.store.migrate import upgrade_database

# Human-facing output goes to stderr so that --json output on stdout stays machine-readable.
console = Console(stderr=True, highlight=False)
stdout = Console(highlight=False, soft_wrap=True)


class Invocation:
    """The settings and services of one `papertide` run, built on first use and closed when it ends."""

    def __init__(self, load: Callable[[], Settings] = load_settings) -> None:
        self._load = load
        self._settings: Settings | None = None
        self._services: Services | None = None
        self._migrated = False

    @property
    def settings(self) -> Settings:
        """Settings of this invocation (environment + TOML file); logging is set up when they load."""
        if self._settings is None:
            self._settings = self._load()
            configure_logging(self._settings.log_level, self._settings.log_json)
        return self._settings

    def serve_at(self, host: str, port: int) -> Settings:
        """Settings for a server on ``host:port``: an unset base URL follows the served address.

        Called by `papertide serve` before the services are built, so the web app, its mails and
        the scheduled jobs of that process all link to where it actually listens.
        """
        if self._services is not None:
            raise RuntimeError("serve_at: the services were already built from other settings")
        self._settings = self.settings.served_at(host, port)
        return self._settings

    def services(self, *, migrate: bool = True) -> Services:
        """The services, with the schema brought up to date first (embedded setups need no step).

        :param migrate: False for commands that look at the schema before changing it (doctor,
            db upgrade, restore) or that only need the settings-derived objects.
        """
        if self._services is None:
            self._services = Services(self.settings)
        if migrate and not self._migrated:
            upgrade_database(self._services.engine)
            self._migrated = True
        return self._services

    def engine(self, *, migrate: bool = True) -> Engine:
        """The database engine (see ``services`` for ``migrate``)."""
        return self.services(migrate=migrate).engine

    def close(self) -> None:
        """Close the database connections of this invocation."""
        if self._services is not None:
            self._services.close()


def invocation(ctx: typer.Context) -> Invocation:
    """This run's :class:`Invocation`, put on the root context on first use (normally by the root callback)."""
    found = ctx.find_object(Invocation)
    if found is None:
        root = ctx.find_root()
        found = Invocation()
        root.obj = found
        root.call_on_close(found.close)
    return found


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print an error for a person and return the Exit to raise."""
    console.print(f"[bold red]error:[/] {message}", markup=True, highlight=False)
    return typer.Exit(code)
