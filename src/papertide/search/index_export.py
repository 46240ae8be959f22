"""Exporting a host's search indexes while it keeps serving: a consistent copy written as an archive.

Every file of the copy is opened before anything is copied, and a file stays readable through
its open handle when the host's writer removes it meanwhile (a replaced vector snapshot, a
tantivy segment merged away). The vector snapshot is the one the pointer file names (its
folder never changes once written); the lexical index is taken at one commit: its
``meta.json`` is read, the files of the segments it lists are opened, and ``meta.json`` is
read again; a commit in between starts the taking over. The archive goes to a temporary name
beside the target and is renamed into place when complete (index_archive.py: the layout).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import tarfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import Engine

from papertide.search.changes import fetch_database_id
from papertide.search.index_archive import (
    LEXICAL,
    MANIFEST,
    VECTORS,
    FileEntry,
    IndexArchiveError,
    Manifest,
    copy_stream,
)
from papertide.search.lexical.index import LexicalIndex
from papertide.search.semantic.snapshot import POINTER
from papertide.store.files import sync_path

Progress = Callable[[int], None]
# How often the lexical index may commit while its files are being opened before export gives up.
COMMIT_RETRIES = 20
# tantivy's own files that a copy leaves out (locks) or writes anew (the list of managed files).
LEXICAL_SKIPPED = {".tantivy-meta.lock", ".tantivy-writer.lock", ".managed.json", "meta.json"}


@dataclass(frozen=True, slots=True)
class IndexCopy:
    """The open files of a consistent copy: member name -> handle, and what the manifest says of them."""

    database_id: str
    lexical_folder: str
    lexical_seq: int
    snapshot: str | None
    files: dict[str, BinaryIO]

    @property
    def total_bytes(self) -> int:
        """What the copy will write (the total of a progress bar)."""
        return sum(_size(handle) for handle in self.files.values())


def _size(handle: BinaryIO) -> int:
    if isinstance(handle, io.BytesIO):
        return len(handle.getbuffer())
    return os.fstat(handle.fileno()).st_size


@contextmanager
def open_index_copy(engine: Engine, lexical_dir: Path, vector_dir: Path) -> Iterator[IndexCopy]:
    """Open every file of a consistent copy of both indexes; they are closed when the block ends."""
    database_id = fetch_database_id(engine)
    problem, lexical_seq, _database_seq = LexicalIndex(engine, lexical_dir).inspect()
    if problem is not None:
        raise IndexArchiveError(f"the lexical index at {lexical_dir} {problem}: run `papertide index` first")
    with contextlib.ExitStack() as stack:
        files: dict[str, BinaryIO] = {}
        for name, handle in _open_lexical(lexical_dir, stack).items():
            files[f"{LEXICAL}/{name}"] = handle
        snapshot = _open_snapshot(vector_dir, database_id, stack, files)
        yield IndexCopy(database_id, lexical_dir.name, lexical_seq, snapshot, files)


def _open_lexical(folder: Path, stack: contextlib.ExitStack) -> dict[str, BinaryIO]:
    for _attempt in range(COMMIT_RETRIES):
        with contextlib.ExitStack() as attempt:
            try:
                meta = (folder / "meta.json").read_bytes()
                segments = {str(segment["segment_id"]).replace("-", "") for segment in json.loads(meta)["segments"]}
                handles: dict[str, BinaryIO] = {}
                for path in sorted(folder.iterdir()):
                    if path.name not in LEXICAL_SKIPPED and path.name.split(".")[0] in segments:
                        handles[path.name] = attempt.enter_context(path.open("rb"))
            except FileNotFoundError:
                continue  # a merge removed a file of the commit we read: take the next commit
            except (OSError, ValueError, KeyError, TypeError) as error:
                raise IndexArchiveError(f"the lexical index at {folder} cannot be read ({error})") from None
            if (folder / "meta.json").read_bytes() != meta:
                continue
            stack.enter_context(attempt.pop_all())
            # tantivy removes merged-away files only when it lists them as its own: list the copied ones.
            managed = json.dumps(sorted([*handles, "meta.json"])).encode()
            return {**handles, "meta.json": io.BytesIO(meta), ".managed.json": io.BytesIO(managed)}
    raise IndexArchiveError(f"the lexical index at {folder} kept changing while it was copied; try again")


def _open_snapshot(
    vector_dir: Path, database_id: str, stack: contextlib.ExitStack, files: dict[str, BinaryIO]
) -> str | None:
    """Open the files of the current vector snapshot into ``files``; its name, or None when there is none."""
    for _attempt in range(COMMIT_RETRIES):
        try:
            name = str(json.loads((vector_dir / POINTER).read_text(encoding="utf-8"))["snapshot"])
        except FileNotFoundError:
            return None  # words only (no embedding model) or no snapshot written yet
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise IndexArchiveError(
                f"the vector index pointer {vector_dir / POINTER} cannot be read ({error})"
            ) from None
        folder = vector_dir / name
        with contextlib.ExitStack() as attempt:
            try:
                meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
                opened = {
                    f"{VECTORS}/{name}/{path.name}": attempt.enter_context(path.open("rb"))
                    for path in sorted(folder.iterdir())
                }
            except FileNotFoundError:
                continue  # replaced and removed since we read the pointer
            except (OSError, ValueError) as error:
                raise IndexArchiveError(f"the vector snapshot {folder} cannot be read ({error})") from None
            if meta.get("database_id") != database_id:
                raise IndexArchiveError(
                    f"the vector snapshot {folder} mirrors another database: run `papertide index` first"
                )
            stack.enter_context(attempt.pop_all())
            files.update(opened)
            return name
    raise IndexArchiveError(f"the vector snapshot in {vector_dir} kept changing while it was copied; try again")


def write_index_archive(copy: IndexCopy, target: Path, on_progress: Progress | None = None) -> Manifest:
    """Write ``copy`` to ``target``: a tar file when its name ends in ``.tar``, else a new folder."""
    if target.exists() and not (target.is_dir() and not any(target.iterdir())):
        raise IndexArchiveError(f"{target} exists already: name a new file or folder (or an empty folder)")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.parent / f".{target.name}.partial-{uuid.uuid4().hex[:8]}"
    try:
        if target.name.endswith(".tar"):
            manifest = _write_tar(copy, partial, on_progress)
        else:
            manifest = _write_folder(copy, partial, on_progress)
        if target.is_dir():
            target.rmdir()  # the empty folder named as the target
        os.replace(partial, target)
        sync_path(target.parent)
    finally:
        if partial.is_dir():
            shutil.rmtree(partial, ignore_errors=True)
        else:
            partial.unlink(missing_ok=True)
    return manifest


def _manifest(copy: IndexCopy, files: dict[str, FileEntry]) -> Manifest:
    return Manifest(copy.database_id, copy.lexical_folder, copy.snapshot, files)


def _write_folder(copy: IndexCopy, folder: Path, on_progress: Progress | None) -> Manifest:
    entries: dict[str, FileEntry] = {}
    for name, handle in copy.files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as stream:
            entries[name] = copy_stream(handle, stream, on_progress)
            stream.flush()
            os.fsync(stream.fileno())
    manifest = _manifest(copy, entries)
    (folder / MANIFEST).write_bytes(manifest.to_json())
    for path in [folder / MANIFEST, *(path for path in folder.rglob("*") if path.is_dir()), folder]:
        sync_path(path)
    return manifest


class _HashingReader:
    """A file that tarfile reads from, hashing and counting what passes (one pass over each file)."""

    def __init__(self, handle: BinaryIO, on_progress: Progress | None) -> None:
        self.handle = handle
        self.on_progress = on_progress
        self.digest = hashlib.sha256()
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        chunk = self.handle.read(size)
        self.digest.update(chunk)
        self.size += len(chunk)
        if self.on_progress is not None and chunk:
            self.on_progress(len(chunk))
        return chunk

    @property
    def entry(self) -> FileEntry:
        """The size and checksum of what was read."""
        return FileEntry(self.size, self.digest.hexdigest())


def _write_tar(copy: IndexCopy, path: Path, on_progress: Progress | None) -> Manifest:
    entries: dict[str, FileEntry] = {}
    with path.open("wb") as stream:
        with tarfile.open(fileobj=stream, mode="w", format=tarfile.PAX_FORMAT) as archive:
            for name, handle in copy.files.items():
                info = tarfile.TarInfo(name)
                info.size = _size(handle)
                info.mode = 0o600
                reader = _HashingReader(handle, on_progress)
                archive.addfile(info, reader)  # type: ignore[arg-type]
                entries[name] = reader.entry
            manifest = _manifest(copy, entries)
            data = manifest.to_json()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mode = len(data), 0o600
            archive.addfile(info, io.BytesIO(data))
        stream.flush()
        os.fsync(stream.fileno())
    return manifest
