"""Importing an index archive on a new host: check it belongs to this database, then install it whole.

The archive is unpacked into a staging folder beside the indexes, every file checked against
the manifest (size and SHA-256), and both indexes opened from there and checked the way a
serving process checks them (the database they mirror, the analyzer, the vector space, not
ahead of the database). Only then are they moved into place by renames, so a failure at any
step leaves the host's indexes as they were. The host then catches up what the database
gained since the export by the change sequences, as after any restart: nothing is embedded
again (issue 14). Importing while papertide runs on this host is refused (the writer lock).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import stat
import tarfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import Engine, func, select

from papertide.search.changes import fetch_database_id, fetch_pending_count
from papertide.search.election import WriterElection
from papertide.search.index_archive import (
    LEXICAL,
    MANIFEST,
    VECTORS,
    FileEntry,
    IndexArchiveError,
    Manifest,
    check_member_name,
    copy_stream,
    parse_manifest,
)
from papertide.search.lexical.index import LexicalIndex
from papertide.search.lexical.writer import directory_lock
from papertide.search.semantic.index import IndexConfig
from papertide.search.semantic.snapshot import POINTER, UnreadableSnapshot, load_snapshot
from papertide.search.semantic.vectors import fetch_max_change_seq, fetch_space
from papertide.store.files import sync_path, write_bytes_atomically
from papertide.store.schema import paper_vectors

Progress = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What was installed and how far each index is behind the database (caught up when the host starts)."""

    lexical_seq: int
    papers_behind: int
    snapshot: str | None
    vectors: int
    vectors_behind: int

    def summary(self) -> str:
        """One line for a person."""
        words = f"lexical index installed ({self.papers_behind} changed papers to catch up)"
        if self.snapshot is None:
            return f"{words}; the archive holds no vector snapshot"
        return (
            f"{words}; vector snapshot {self.snapshot} installed ({self.vectors} vectors, "
            f"{self.vectors_behind} newer vectors to catch up, none embedded again)"
        )


def archive_size(source: Path) -> int | None:
    """Bytes an import of ``source`` reads (the total of a progress bar); None when unknown."""
    if source.is_file():
        return source.stat().st_size
    try:
        return parse_manifest((source / MANIFEST).read_bytes(), str(source)).total_bytes
    except (OSError, IndexArchiveError):
        return None


def import_index_archive(
    source: Path,
    engine: Engine,
    lexical_dir: Path,
    vector_dir: Path,
    config: IndexConfig,
    on_progress: Progress | None = None,
) -> ImportReport:
    """Check the archive at ``source`` (a folder or a tar file) and install both indexes from it."""
    if not source.exists():
        raise IndexArchiveError(f"{source}: no such file or folder")
    election = WriterElection(vector_dir)
    if not election.try_acquire():
        raise IndexArchiveError(
            f"papertide is running on this host (it holds {election.path}): stop it before importing indexes"
        )
    staging = lexical_dir.parent / f".import-{uuid.uuid4().hex[:8]}"
    try:
        staging.mkdir(parents=True)
        manifest = _unpack(source, staging, on_progress)
        report = _check(manifest, staging, engine, lexical_dir, config, str(source))
        _install(manifest, staging, lexical_dir, vector_dir)
        return report
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        election.release()


def _unpack(source: Path, staging: Path, on_progress: Progress | None) -> Manifest:
    """Copy every member into ``staging``; the manifest, after checking each file against it."""
    if source.is_dir():
        manifest_path = source / MANIFEST
        if not manifest_path.is_file():
            raise IndexArchiveError(f"{source}: not a papertide index archive (no {MANIFEST})")
        manifest = parse_manifest(manifest_path.read_bytes(), str(source))
        found = {
            name: _copy_member(source / name, staging / name, source, name, on_progress) for name in manifest.files
        }
    else:
        manifest, found = _unpack_tar(source, staging, on_progress)
    for name, expected in manifest.files.items():
        got = found.get(name)
        if got is None:
            raise IndexArchiveError(f"{source}: {name} is listed in {MANIFEST} but missing from the archive")
        if got != expected:
            what = "size" if got.size != expected.size else "SHA-256"
            raise IndexArchiveError(f"{source}: {name} is corrupt (its {what} differs from {MANIFEST})")
    extra = sorted(set(found) - set(manifest.files))
    if extra:
        raise IndexArchiveError(f"{source}: {extra[0]} is in the archive but not in {MANIFEST}")
    return manifest


def _copy_member(path: Path, target: Path, source: Path, name: str, on_progress: Progress | None) -> FileEntry:
    try:
        # O_NOFOLLOW: a link in the archive folder is refused, not followed out of it.
        handle = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        raise IndexArchiveError(f"{source}: {name} is listed in {MANIFEST} but missing from the archive") from None
    except OSError as error:
        raise IndexArchiveError(f"{source}: {name} cannot be read ({error.strerror})") from None
    with os.fdopen(handle, "rb") as stream:
        if not stat.S_ISREG(os.fstat(stream.fileno()).st_mode):
            raise IndexArchiveError(f"{source}: {name} is not a plain file")
        return _write_member(stream, target, on_progress)


def _write_member(stream: BinaryIO, target: Path, on_progress: Progress | None) -> FileEntry:
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as out:
        entry = copy_stream(stream, out, on_progress)
        out.flush()
        os.fsync(out.fileno())
    return entry


def _unpack_tar(source: Path, staging: Path, on_progress: Progress | None) -> tuple[Manifest, dict[str, FileEntry]]:
    found: dict[str, FileEntry] = {}
    manifest_bytes: bytes | None = None
    try:
        with tarfile.open(source, mode="r:*") as archive:
            for member in archive:
                if member.isdir():
                    continue
                if not member.isfile():
                    raise IndexArchiveError(f"{source}: member {member.name!r} is a link or device, not a plain file")
                stream = archive.extractfile(member)
                assert stream is not None  # a regular member always has one
                if member.name == MANIFEST:
                    manifest_bytes = stream.read()
                    continue
                name = check_member_name(member.name, str(source))
                if name in found:
                    raise IndexArchiveError(f"{source}: member {name!r} appears twice")
                found[name] = _write_member(stream, staging / name, on_progress)  # type: ignore[arg-type]
    except (tarfile.TarError, EOFError) as error:
        raise IndexArchiveError(f"{source}: not a readable tar archive ({error})") from None
    if manifest_bytes is None:
        raise IndexArchiveError(f"{source}: not a papertide index archive (no {MANIFEST})")
    return parse_manifest(manifest_bytes, str(source)), found


def _check(
    manifest: Manifest, staging: Path, engine: Engine, lexical_dir: Path, config: IndexConfig, source: str
) -> ImportReport:
    """Open the staged indexes as a serving process would; raise IndexArchiveError when one is unusable here."""
    database_id = fetch_database_id(engine)
    if manifest.database_id != database_id:
        raise IndexArchiveError(
            f"{source}: exported from another database (database id {manifest.database_id}; this database's is "
            f"{database_id}): export the indexes of a host that uses this database_url"
        )
    if manifest.lexical_folder != lexical_dir.name:
        raise IndexArchiveError(
            f"{source}: holds a {manifest.lexical_folder} index; this version of papertide uses {lexical_dir.name}"
        )
    problem, lexical_seq, _db_seq = LexicalIndex(engine, staging / LEXICAL).inspect()
    if problem is not None:
        raise IndexArchiveError(f"{source}: its lexical index {problem}")
    with engine.connect() as conn:
        papers_behind = fetch_pending_count(conn, lexical_seq)
    if manifest.snapshot is None:
        return ImportReport(lexical_seq, papers_behind, None, 0, 0)
    vectors = staging / VECTORS
    write_bytes_atomically(vectors / POINTER, json.dumps({"snapshot": manifest.snapshot}).encode())
    try:
        loaded = load_snapshot(vectors, config)
    except UnreadableSnapshot as error:
        raise IndexArchiveError(f"{source}: {error}") from None
    if loaded is None:
        raise IndexArchiveError(f"{source}: its vector snapshot {manifest.snapshot} has an unknown format")
    index, meta = loaded
    with engine.connect() as conn:
        space = fetch_space(conn)
        latest = fetch_max_change_seq(conn)
        change_seq = int(meta.get("change_seq", -1))
        behind = conn.execute(
            select(func.count()).select_from(paper_vectors).where(paper_vectors.c.change_seq > change_seq)
        ).scalar_one()
    if space is None or meta.get("space") != space.key or index.dim != space.dim:
        recorded = space.key if space is not None else "none yet"
        raise IndexArchiveError(f"{source}: its vectors are of {meta.get('space')!r}, this database's of {recorded!r}")
    if meta.get("database_id") != database_id:
        raise IndexArchiveError(f"{source}: its vector snapshot was made from another database")
    if change_seq > latest:
        raise IndexArchiveError(
            f"{source}: its vector snapshot is ahead of this database (change_seq {change_seq} > {latest}; "
            "was the database restored from an older backup?)"
        )
    return ImportReport(lexical_seq, papers_behind, manifest.snapshot, len(index), int(behind))


def _install(manifest: Manifest, staging: Path, lexical_dir: Path, vector_dir: Path) -> None:
    """Move the checked indexes into place: each by renames, so each is the old one or the new one, whole."""
    if manifest.snapshot is not None:
        installed = vector_dir / manifest.snapshot
        if not installed.exists():
            os.replace(staging / VECTORS / manifest.snapshot, installed)
            sync_path(vector_dir)
        write_bytes_atomically(vector_dir / POINTER, json.dumps({"snapshot": manifest.snapshot}).encode())
    with directory_lock(lexical_dir):
        aside = lexical_dir.parent / f".{lexical_dir.name}.replaced-{uuid.uuid4().hex[:8]}"
        if lexical_dir.exists():
            os.replace(lexical_dir, aside)
        os.replace(staging / LEXICAL, lexical_dir)
        sync_path(lexical_dir.parent)
        with contextlib.suppress(OSError):
            shutil.rmtree(aside)
