"""Which process of a host writes an index folder: the one holding an exclusive lock on a file in it.

The processes sharing a data directory (web workers, a worker, a CLI run) each try, without
waiting, to take an ``flock`` on ``writer.lock``; the holder writes snapshots, the others
follow them (issue 14). The kernel drops the lock when its holder exits or is killed, so the
next process that tries takes over; nothing has to notice a crash or clean up after it. The
lock belongs to one open file: two objects in one process are two candidates (tests rely on
that), and a process forked while holding it would share it, so elect after forking.
"""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path
from typing import BinaryIO

LOCK_FILE = "writer.lock"


class WriterElection:
    """A candidate for writing the folder ``path``; ``try_acquire`` is cheap enough to call per request."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / LOCK_FILE
        self._handle: BinaryIO | None = None
        self._held = False
        self._lock = threading.Lock()

    @property
    def held(self) -> bool:
        """Whether this candidate is the writer."""
        return self._held

    def try_acquire(self) -> bool:
        """Become the writer if nobody is; True when this candidate is (or already was) the writer."""
        if self._held:
            return True
        with self._lock:
            if self._held:
                return True
            if self._handle is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._handle = self.path.open("a+b")
            try:
                fcntl.flock(self._handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            # Who writes, for a person looking at the folder; the lock itself is what counts.
            self._handle.truncate(0)
            self._handle.write(f"{os.getpid()}\n".encode())
            self._handle.flush()
            self._held = True
            return True

    def release(self) -> None:
        """Stop being a candidate (and the writer): another process may take over."""
        with self._lock:
            if self._handle is not None:
                self._handle.close()  # closing the file drops the lock
            self._handle, self._held = None, False
