"""One call run on a kept worker thread while the caller does other work (hybrid search's word side, issue 13).

Hybrid search needs a BM25 ranking and a nearest-neighbour ranking; neither needs the other's
answer, and both spend their time in native code that lets go of the GIL (tantivy's search,
the ONNX query embedding, faiss: measured by bench/search_profile.py). Run one after the other
they cost their sum; side by side, about the longer of the two. The threads are kept (no thread
per query), and a call that no worker has picked up by the time its result is wanted (every
worker busy with other requests, or a process forked since the pool started) runs in the
caller's thread instead, so a search never waits longer than it would without the pool.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, TypeVar

Result = TypeVar("Result")


class Pending(Generic[Result]):
    """A call handed to a worker: ``result`` waits for it, or runs it here when no worker has started it."""

    def __init__(self, call: Callable[[], Result], future: Future[Result] | None) -> None:
        self._call = call
        self._future = future

    def result(self) -> Result:
        """The call's value; its exception is raised here, in the caller's thread, as if it had run here."""
        future = self._future
        if future is None or future.cancel():
            return self._call()
        return future.result()

    def abandon(self) -> None:
        """The caller no longer wants the result (it failed first): skip the call if it has not started."""
        if self._future is not None:
            self._future.cancel()


class Beside:
    """A small kept pool of worker threads, created on first use (and again in a forked child)."""

    def __init__(self, workers: int, name: str) -> None:
        if workers < 0:
            raise ValueError("the number of workers must not be negative")
        self.workers = workers
        self.name = name
        self._executor: ThreadPoolExecutor | None = None
        self._pid = 0
        self._lock = threading.Lock()

    def start(self, call: Callable[[], Result]) -> Pending[Result]:
        """Hand ``call`` to a worker; with no workers it runs when its result is asked for."""
        if self.workers == 0:
            return Pending(call, None)
        return Pending(call, self._pool().submit(call))

    def _pool(self) -> ThreadPoolExecutor:
        executor, pid = self._executor, os.getpid()
        if executor is not None and self._pid == pid:
            return executor
        with self._lock:
            if self._executor is None or self._pid != pid:
                # A forked child inherits the pool object but not its threads: it starts its own.
                self._executor = ThreadPoolExecutor(self.workers, thread_name_prefix=self.name)
                self._pid = pid
            return self._executor

    def close(self) -> None:
        """Stop the workers once they finish what they run (a later ``start`` makes new ones)."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)
