"""The `papertide` command run in-process (Typer's CliRunner), as one invocation with its own environment.

Each call is a fresh invocation: the root callback builds new settings and services from the
environment given here, so no state carries over between calls (issue 12).
"""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner, Result

from papertide.cli import app


def run_papertide(data_dir: Path, *args: str, **env: str) -> Result:
    """Run ``papertide ARGS`` on the data directory ``data_dir`` (its own SQLite file), with extra ``env``."""
    environment: dict[str, str | None] = {
        "PAPERTIDE_DATA_DIR": str(data_dir),
        # The database and any settings file of the outer environment stay out of it.
        "PAPERTIDE_DATABASE_URL": None,
        "PAPERTIDE_CONFIG": None,
        "HF_HUB_OFFLINE": "1",
        **env,
    }
    result = CliRunner().invoke(app, list(args), env=environment)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        # A crash is never an expected outcome: show its traceback instead of exit code 1.
        raise result.exception
    return result


def link_model_cache(data_dir: Path, model_cache: Path) -> Path:
    """Create ``data_dir`` with its models folder linked to the session's export (conftest ``model_cache``)."""
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    (data_dir / "models").symlink_to(model_cache, target_is_directory=True)
    return data_dir
