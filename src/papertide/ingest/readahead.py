"""Reading a source a little ahead of storing it, in a second thread.

SQLite and the network release the GIL while they work, so parsing the next records while a
batch is written (or fetching the next page while one is stored) uses the second core. The
queue is bounded, so memory stays flat; items, and then any error the source raised, arrive
in their original order, so a failure still keeps every record read before it.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

CHUNK = 256
DEPTH = 8
_POLL_S = 0.1


class _End:
    """Marks the end of the source."""


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def read_ahead(items: Iterable[T], *, chunk: int = CHUNK, depth: int = DEPTH) -> Iterator[T]:
    """Yield ``items`` as they come, produced by a background thread up to ``depth`` chunks ahead."""
    handoff: queue.Queue[list[T] | _End | _Failed] = queue.Queue(maxsize=depth)
    abandoned = threading.Event()

    def put(message: list[T] | _End | _Failed) -> bool:
        while not abandoned.is_set():
            try:
                handoff.put(message, timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        iterator = iter(items)
        pending: list[T] = []
        try:
            for item in iterator:
                pending.append(item)
                if len(pending) >= chunk:
                    if not put(pending):
                        return
                    pending = []
            if put(pending):
                put(_End())
        except BaseException as error:  # handed to the consumer, who raises it after the items before it
            if put(pending):
                put(_Failed(error))
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=produce, name="ingest-read-ahead", daemon=True)
    worker.start()
    try:
        while True:
            message = handoff.get()
            if isinstance(message, _End):
                return
            if isinstance(message, _Failed):
                raise message.error
            yield from message
    finally:
        abandoned.set()
        worker.join()
