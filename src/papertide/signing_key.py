"""The signing key of sessions, sign-in and digest links: read, or created once, never empty.

The key lives in ``<data_dir>/secret_key`` unless ``PAPERTIDE_SECRET_KEY`` sets it. Creating it
must be safe when several processes start at once on a fresh data directory (``papertide serve``
beside a cron'd ``papertide digest run``) and when the disk is full: each process writes its own
candidate to a private temporary file, flushes it to disk and then *hard-links* it to the final
name. A link never replaces an existing file, so exactly one candidate wins and every process,
the losers included, then reads that winner. The final name therefore only ever points at a
complete key; a write that fails (disk full) leaves no file behind, only an error.

A key that is empty or short (a 0-byte file from an older version, a typo in the environment)
is refused with a message naming where it came from: with an empty key anyone could sign a
session cookie for any account.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from pathlib import Path

from papertide.domain.errors import PapertideError

KEY_FILE_NAME = "secret_key"
KEY_ENV = "PAPERTIDE_SECRET_KEY"
MIN_KEY_LENGTH = 32
_GENERATE = 'python -c "import secrets; print(secrets.token_urlsafe(48))"'


class SigningKeyError(PapertideError):
    """The configured or stored key cannot be used; the message says where it is and what to do."""


def check_key(value: str, origin: str, remedy: str) -> str:
    """``value`` stripped, when it is long enough to sign with; else a :class:`SigningKeyError`."""
    key = value.strip()
    if len(key) < MIN_KEY_LENGTH:
        what = "is empty" if not key else f"is too short ({len(key)} characters)"
        raise SigningKeyError(
            f"the secret key in {origin} {what}; it must be at least {MIN_KEY_LENGTH} characters. {remedy}"
        )
    return key


def key_from_environment(value: str) -> str:
    """The key ``PAPERTIDE_SECRET_KEY`` (or the settings file) gave, checked."""
    return check_key(
        value,
        f"{KEY_ENV} (or secret_key in the settings file)",
        f"Set it to a long random value, e.g. the output of {_GENERATE}, or unset it to have papertide keep "
        "a generated key in the data directory.",
    )


def read_or_create_key(data_dir: Path) -> str:
    """The key stored in ``data_dir``, created (0600, atomically, once) when there is none."""
    path = data_dir / KEY_FILE_NAME
    if not path.exists():
        _create(path)
    return _read(path)


def _read(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise SigningKeyError(f"cannot read the secret key file {path}: {error}") from error
    return check_key(
        text,
        f"the file {path}",
        f"Delete the file to have papertide generate a new key (signed-in browsers and links already mailed "
        f"then stop working), or write a long random value into it, e.g. the output of {_GENERATE}.",
    )


def _create(path: Path) -> None:
    """Write a fresh key beside ``path`` and link it into place unless another process won first."""
    directory = path.parent
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")  # mode 0600
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(secrets.token_urlsafe(48))
            stream.flush()
            os.fsync(stream.fileno())
        with contextlib.suppress(FileExistsError):  # another process's key won: everyone reads that one
            os.link(temporary, path)
        _sync_directory(directory)
    except OSError as error:
        raise SigningKeyError(f"cannot create the secret key file {path}: {error}") from error
    finally:
        with contextlib.suppress(OSError):
            os.unlink(temporary)


def _sync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
