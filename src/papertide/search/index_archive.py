"""The archive that carries a host's search indexes to a new host: its layout, manifest and member checks.

An archive is a folder or a tar file holding ``papertide-index.json`` (the manifest: the
database it mirrors, the names of the copied indexes, each file's size and SHA-256) and the
files under ``vectors/<snapshot>/`` and ``lexical/``. Written by `papertide export-index`
(index_export.py), read by `papertide import-index` (index_import.py); issue 14: a new host
starts serving from a copy, not after hours of rebuilding. Everything read from an archive is
checked before use: a member outside those folders, a link, a file whose size or checksum
differs from the manifest is refused by name.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any, BinaryIO

from papertide.domain.errors import PapertideError

MANIFEST = "papertide-index.json"
KIND = "papertide-index"
FORMAT = 1
VECTORS = "vectors"
LEXICAL = "lexical"
CHUNK_BYTES = 1 << 20


class IndexArchiveError(PapertideError):
    """An index archive that cannot be written, read or used here; the message names what is wrong."""


@dataclass(frozen=True, slots=True)
class FileEntry:
    """One copied file: its size and SHA-256 (hex)."""

    size: int
    sha256: str


@dataclass(frozen=True, slots=True)
class Manifest:
    """What an archive holds: ``files`` maps member names (``vectors/...``, ``lexical/...``) to their entries."""

    database_id: str
    lexical_folder: str
    snapshot: str | None
    files: dict[str, FileEntry]

    def to_json(self) -> bytes:
        """The manifest file's bytes."""
        payload = {
            "kind": KIND,
            "format": FORMAT,
            "database_id": self.database_id,
            "lexical_folder": self.lexical_folder,
            "snapshot": self.snapshot,
            "files": {name: {"size": entry.size, "sha256": entry.sha256} for name, entry in sorted(self.files.items())},
        }
        return json.dumps(payload, indent=2).encode()

    @property
    def total_bytes(self) -> int:
        """The size of every copied file together (the total of a progress bar)."""
        return sum(entry.size for entry in self.files.values())


def parse_manifest(data: bytes, source: str) -> Manifest:
    """The manifest of an archive; raises IndexArchiveError naming the field that is wrong."""
    try:
        payload: Any = json.loads(data)
    except (UnicodeDecodeError, ValueError) as error:
        raise IndexArchiveError(f"{source}: {MANIFEST} is not JSON ({error})") from None
    if not isinstance(payload, dict) or payload.get("kind") != KIND:
        raise IndexArchiveError(f"{source}: {MANIFEST} is not the manifest of a papertide index archive")
    if payload.get("format") != FORMAT:
        raise IndexArchiveError(
            f"{source}: archive format {payload.get('format')!r}; this version of papertide reads format {FORMAT}"
        )
    try:
        files = {
            check_member_name(str(name), source): FileEntry(int(entry["size"]), str(entry["sha256"]))
            for name, entry in dict(payload["files"]).items()
        }
        snapshot = payload["snapshot"]
        manifest = Manifest(
            database_id=str(payload["database_id"]),
            lexical_folder=str(payload["lexical_folder"]),
            snapshot=None if snapshot is None else str(snapshot),
            files=files,
        )
    except (KeyError, TypeError, ValueError) as error:
        raise IndexArchiveError(f"{source}: {MANIFEST} has a missing or malformed field ({error})") from None
    if manifest.snapshot is not None and ("/" in manifest.snapshot or not manifest.snapshot.startswith("snapshot-")):
        raise IndexArchiveError(f"{source}: {MANIFEST} names the snapshot {manifest.snapshot!r}, not a folder name")
    return manifest


def check_member_name(name: str, source: str) -> str:
    """``name`` when it is a plain relative path under ``vectors/`` or ``lexical/``; else IndexArchiveError."""
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or len(path.parts) < 2 or path.parts[0] not in (VECTORS, LEXICAL):
        raise IndexArchiveError(f"{source}: member {name!r} is outside the archive's vectors/ and lexical/ folders")
    return path.as_posix()


def copy_stream(source: BinaryIO, target: BinaryIO, on_progress: Callable[[int], None] | None) -> FileEntry:
    """Copy ``source`` to ``target`` in chunks; returns the size and SHA-256 of what was copied."""
    digest = hashlib.sha256()
    size = 0
    while chunk := source.read(CHUNK_BYTES):
        target.write(chunk)
        digest.update(chunk)
        size += len(chunk)
        if on_progress is not None:
            on_progress(len(chunk))
    return FileEntry(size, digest.hexdigest())
