"""Durable file writes for everything papertide keeps beside the database.

A file is written to a temporary name in its folder, flushed to disk, renamed over the final
name and the folder flushed too, so a crash or a full disk leaves either the old file or the
new one, never a short or empty one (issue 9: a zero-byte vector snapshot broke search).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def sync_path(path: Path) -> None:
    """Flush a written file or a folder (its entries) to disk."""
    handle = os.open(path, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def write_file_atomically(path: Path, write: Callable[[BinaryIO], None], *, mode: int | None = None) -> None:
    """Create or replace ``path`` with what ``write`` puts in the stream: all of it or nothing.

    :param mode: permission bits of the new file (the temporary file's 0600 when None).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        if mode is not None:
            os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    sync_path(path.parent)


def write_bytes_atomically(path: Path, data: bytes, *, mode: int | None = None) -> None:
    """Create or replace ``path`` with ``data``: all of it or nothing."""

    def write(stream: BinaryIO) -> None:
        stream.write(data)

    write_file_atomically(path, write, mode=mode)
