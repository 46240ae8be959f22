"""Settings, read from ``PAPERTIDE_*`` environment variables and an optional TOML file.

Only the composition roots (``cli`` and ``web.app``) create a :class:`Settings`; every
other layer receives plain arguments. Each field's description is the documentation
shown in docs/configuration.md (a test keeps them in step).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

CONFIG_FILE_ENV = "PAPERTIDE_CONFIG"


class Settings(BaseSettings):
    """Every knob an operator can turn."""

    model_config = SettingsConfigDict(env_prefix="PAPERTIDE_", extra="ignore")

    # --- core -----------------------------------------------------------------------------
    data_dir: Path = Field(
        Path("./data"), description="Directory for the SQLite database, indexes, outbox and secret key."
    )
    database_url: str = Field(
        "",
        description="SQLAlchemy URL of the database; defaults to a SQLite file `papertide.db` in the data directory. "
        "Use `postgresql+psycopg://user:pass@host/db` for the PostgreSQL tier.",
    )
    base_url: str = Field(
        "http://127.0.0.1:8000", description="Public URL of the site, used in links inside emails and feeds."
    )
    secret_key: SecretStr = Field(
        SecretStr(""),
        description="Key that signs sessions, magic links and unsubscribe links. Generated and stored in "
        "`<data_dir>/secret_key` on first run when unset. Never logged.",
    )
    site_name: str = Field("papertide", description="Name shown in page titles, feeds and emails.")
    templates_dir: Path | None = Field(
        None, description="Directory of templates that override the bundled ones (same file names)."
    )
    log_level: str = Field("INFO", description="Log level: DEBUG, INFO, WARNING or ERROR.")
    log_json: bool = Field(False, description="Write logs as JSON lines (one object per record) instead of text.")

    # --- mail ------------------------------------------------------------------------------
    smtp_url: SecretStr = Field(
        SecretStr(""),
        description="SMTP server for outgoing mail, e.g. `smtp://user:pass@mail.example.org:587?starttls=true` or "
        "`smtps://host:465`. Empty: mail is written as .eml files to `<data_dir>/outbox` instead.",
    )
    mail_from: str = Field("papertide <papertide@localhost>", description="Sender name and address of every mail.")
    postal_address: str = Field(
        "", description="Postal address printed in the footer of every digest (anti-spam laws ask for one)."
    )

    # --- ingest (issue 3) ----------------------------------------------------------------------

    # --- search (issue 4) ----------------------------------------------------------------------

    # --- community: accounts, votes, trending (issue 5) -----------------------------------------

    # --- digest (issue 6) ----------------------------------------------------------------------

    @property
    def outbox_dir(self) -> Path:
        """Where mail goes when no SMTP server is configured."""
        return self.data_dir / "outbox"

    @model_validator(mode="after")
    def _fill_defaults(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{(self.data_dir / 'papertide.db').as_posix()}"
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Precedence: explicit arguments, then environment, then the TOML file named by PAPERTIDE_CONFIG.
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = os.environ.get(CONFIG_FILE_ENV)
        if config_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(config_file)))
        return tuple(sources)

    def secret(self) -> str:
        """The signing key, created once and persisted under the data directory when unset."""
        value = self.secret_key.get_secret_value()
        if value:
            return value
        path = self.data_dir / "secret_key"
        if path.exists():
            return path.read_text(encoding="utf-8").strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        generated = secrets.token_urlsafe(48)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it first: use theirs
            return path.read_text(encoding="utf-8").strip()
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(generated)
        return generated


def load_settings(**overrides: Any) -> Settings:
    """Build settings from the environment, the TOML file and explicit overrides."""
    return Settings(**overrides)
