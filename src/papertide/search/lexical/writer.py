"""Getting tantivy's one writer for a lexical index, and what a failed write means for a person.

tantivy lets one writer into an index directory at a time, across processes: the others wait
(a bounded time) instead of failing at once, since a web process and ``papertide ingest`` or the
maintenance loop often want it together. A write that fails is rolled back, so the index keeps
its last commit, and a full disk is reported as one (ENOSPC), not as tantivy's "writer was killed".
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import tantivy

from papertide.domain.errors import PapertideError

# Below this much free space a failed index write is reported as a full disk.
LOW_DISK_BYTES = 64 * 1024 * 1024


class IndexLocked(PapertideError):
    """Another process holds the index's writer for longer than we are willing to wait."""


@contextmanager
def directory_lock(path: Path) -> Iterator[None]:
    """An exclusive lock, across processes, on opening the index at ``path`` (``<path>.lock``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with (path.parent / f"{path.name}.lock").open("a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def open_writer(
    index: tantivy.Index, path: Path, wait_seconds: float, *, heap_bytes: int, threads: int
) -> Iterator[tantivy.IndexWriter]:
    """The index's writer, waiting up to ``wait_seconds`` for another holder; rolled back if the block fails."""
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            writer = index.writer(heap_size=heap_bytes, num_threads=threads)
            break
        except ValueError as error:
            if "LockBusy" not in str(error):
                raise
            if time.monotonic() >= deadline:
                raise IndexLocked(
                    f"the lexical index at {path} is being written by another process; try again shortly"
                ) from None
            time.sleep(0.05)
    try:
        yield writer
    except ValueError as error:
        # tantivy reports a failed write (a full disk above all) as "index writer was killed".
        with contextlib.suppress(ValueError, OSError):
            writer.rollback()
            writer.wait_merging_threads()
        raise write_error(path, error) from error
    except BaseException:
        with contextlib.suppress(ValueError, OSError):
            writer.rollback()
            writer.wait_merging_threads()
        raise
    # Let background merges finish so small incremental segments do not pile up.
    writer.wait_merging_threads()


def write_error(path: Path, error: ValueError) -> Exception:
    """What a failed tantivy write means for a person: a full disk says so (ENOSPC), as the OS would."""
    text = str(error)
    try:
        free = shutil.disk_usage(path).free
    except OSError:
        free = None
    if "No space left" in text or "os error 28" in text or (free is not None and free < LOW_DISK_BYTES):
        return OSError(errno.ENOSPC, f"No space left on device while writing the search index at {path}")
    return PapertideError(f"the search index at {path} could not be written: {text}")
