"""Saving and loading the vector index beside the database, so a restart does not rebuild it.

A snapshot is a folder written in full (every file flushed to disk) before a small pointer file
is atomically replaced to name it; a crash at any moment leaves the previous snapshot in force.
One process per host writes them (the elected writer, election.py); every process opens the
current one memory-mapped (mapped.py) and moves to the next when the pointer changes
(``pointer_stamp``). A replaced snapshot is kept ``KEEP_SECONDS`` so that a process still
opening it is not cut off. A snapshot is a cache: any that is missing, unreadable or from
another database or vector space is ignored, and the caller rebuilds from the
``paper_vectors`` table.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np

from papertide.domain.errors import PapertideError
from papertide.search.semantic.days import PublishedDays, load_published_days, save_published_days
from papertide.search.semantic.index import IndexConfig, IndexKind, VectorIndex
from papertide.search.semantic.lists import RowLists, load_lists, save_lists
from papertide.search.semantic.mapped import GRAPH_FILE, MappedIndex, open_mapped, order_by_id
from papertide.store.files import sync_path, write_bytes_atomically, write_file_atomically

log = logging.getLogger(__name__)

POINTER = "current.json"
FORMAT = 1
# Older snapshots are removed once they are this old, so a process still reading one is not cut off.
KEEP_SECONDS = 120.0


def write_snapshot(
    folder: Path, index: VectorIndex, meta: dict[str, Any], published: PublishedDays | None = None
) -> Path:
    """Write ``index`` and ``meta`` as the current snapshot in ``folder``; returns the snapshot's path.

    ``published``: every paper's publication day, kept beside the vectors for date filters (days.py).
    """
    folder.mkdir(parents=True, exist_ok=True)
    name = f"snapshot-{int(meta.get('change_seq', 0))}-{uuid.uuid4().hex[:8]}"
    staging = folder / f".{name}.partial"
    staging.mkdir()
    try:
        ids, matrix, graph = index.arrays()
        write_file_atomically(staging / "ids.npy", lambda stream: np.save(stream, ids))
        sorted_ids, sorted_rows = order_by_id(ids)
        write_file_atomically(staging / "sorted_ids.npy", lambda stream: np.save(stream, sorted_ids))
        write_file_atomically(staging / "sorted_rows.npy", lambda stream: np.save(stream, sorted_rows))
        if matrix is not None:
            write_file_atomically(staging / "vectors.npy", lambda stream: np.save(stream, matrix))
        else:
            import faiss

            faiss.write_index(graph, str(staging / GRAPH_FILE))
            sync_path(staging / GRAPH_FILE)
            lists = index.snapshot_lists()
            if lists is not None:
                meta = {**meta, **save_lists(staging, lists, _save_array)}
        if published is not None:
            meta = {**meta, **save_published_days(staging, published, _save_array)}
        payload = {**meta, "format": FORMAT, "kind": index.kind, "dim": index.dim, "size": len(ids)}
        write_bytes_atomically(staging / "meta.json", json.dumps(payload, indent=2).encode())
        os.replace(staging, folder / name)
        sync_path(folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    _mark_replaced(folder)
    write_bytes_atomically(folder / POINTER, json.dumps({"snapshot": name}).encode())
    _remove_old(folder, keep=name)
    return folder / name


def _save_array(path: Path, array: np.ndarray[Any, Any]) -> None:
    write_file_atomically(path, lambda stream: np.save(stream, array))


def _mark_replaced(folder: Path) -> None:
    """Date the snapshot being replaced now, so it is kept ``KEEP_SECONDS`` from now, not from its writing."""
    try:
        name = json.loads((folder / POINTER).read_text(encoding="utf-8"))["snapshot"]
        os.utime(folder / str(name))
    except (OSError, ValueError, KeyError, TypeError):
        return


def pointer_stamp(folder: Path) -> tuple[int, int, int] | None:
    """What identifies the current pointer file (inode, size, mtime): one ``stat``, cheap enough per request."""
    try:
        status = (folder / POINTER).stat()
    except OSError:
        return None
    return status.st_ino, status.st_size, status.st_mtime_ns


def _remove_old(folder: Path, keep: str) -> None:
    now = time.time()
    for path in folder.iterdir():
        if path.name == keep or not path.name.lstrip(".").startswith("snapshot-"):
            continue
        try:
            if now - path.stat().st_mtime > KEEP_SECONDS:
                shutil.rmtree(path, ignore_errors=True)
        except OSError:
            continue


def _read_lists(path: Path, meta: dict[str, Any], size: int, dim: int) -> RowLists | None:
    """The snapshot's inverted lists; None, with a warning, when they cannot be read (filters walk the graph)."""
    try:
        return load_lists(path, meta, size, dim)
    except Exception as error:
        # Only a faster way for middling filters: the graph stays usable without them.
        name = type(error).__name__
        log.warning("inverted lists in %s cannot be read (%s: %s); filters walk the graph", path, name, error)
        return None


class UnreadableSnapshot(PapertideError):
    """The current vector snapshot exists but cannot be read (it is rebuilt from the database)."""


def read_snapshot(folder: Path, config: IndexConfig) -> tuple[MappedIndex, dict[str, Any]] | None:
    """The current snapshot and its meta, or None when there is no usable one (a warning says why)."""
    try:
        return load_snapshot(folder, config)
    except UnreadableSnapshot as error:
        log.warning("%s; ignoring it (the index is built from the database)", error)
        return None


def load_snapshot(folder: Path, config: IndexConfig) -> tuple[MappedIndex, dict[str, Any]] | None:
    """The current snapshot, memory-mapped, and its meta; None when there is none; raises UnreadableSnapshot."""
    try:
        name = json.loads((folder / POINTER).read_text(encoding="utf-8"))["snapshot"]
        path = folder / str(name)
        meta: dict[str, Any] = json.loads((path / "meta.json").read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT:
            return None
        ids = np.load(path / "ids.npy", mmap_mode="r")
        kind: IndexKind = "exact" if meta["kind"] == "exact" else "hnsw"
        index = open_mapped(path, int(meta["dim"]), kind, config, ids)
        index.published = _read_days(path, meta)
        if kind == "hnsw":
            index.attach_lists(_read_lists(path, meta, index.size, index.dim))
    except FileNotFoundError as error:
        if not (folder / POINTER).exists():
            return None
        raise UnreadableSnapshot(f"vector index snapshot in {folder} is missing a file ({error.filename})") from None
    except Exception as error:
        # Any unreadable file (the EOFError of an empty .npy, a faiss read error, ...) is a cache miss.
        raise UnreadableSnapshot(
            f"vector index snapshot in {folder} cannot be read ({type(error).__name__}: {error})"
        ) from None
    if len(ids) != int(meta.get("size", len(ids))):
        raise UnreadableSnapshot(
            f"vector index snapshot in {folder} holds {len(ids)} ids, its meta says {meta.get('size')}"
        )
    return index, meta


def _read_days(path: Path, meta: dict[str, Any]) -> PublishedDays | None:
    """The snapshot's publication days; None, with a warning, when they cannot be read (date filters read ids)."""
    try:
        return load_published_days(path, meta)
    except Exception as error:
        # Only a shortcut for date filters: the vectors stay usable without it.
        log.warning(
            "publication days in %s cannot be read (%s: %s); date filters read ids", path, type(error).__name__, error
        )
        return None
