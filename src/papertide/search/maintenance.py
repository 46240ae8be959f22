"""The host's index maintenance loop: the slow index writes, in one background thread, never in a request.

A request only catches up what changed since its process last looked (a few rows into the
lexical index, a few vectors into the in-memory delta). What takes seconds to minutes at a
million papers runs here instead (issue 14): merging the vector delta into a new shared
snapshot (only the host's elected writer does, search/election.py) and applying a large
backlog of changed papers to the lexical index. One pass at a time; a failing step is logged
and the next pass tries again. `papertide serve` and `papertide worker` start it and stop it on
shutdown (services.py builds the steps).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class MaintenanceStep:
    """One thing a pass does; ``run`` returns whether it wrote anything (for the log)."""

    name: str
    run: Callable[[], bool]


class IndexMaintainer:
    """Runs ``steps`` every ``interval_s`` seconds (and on ``wake``) in one thread until ``stop``."""

    def __init__(self, steps: Sequence[MaintenanceStep], interval_s: float) -> None:
        self.steps = list(steps)
        self.interval_s = interval_s
        self.passes = 0
        # Failures of the last pass, by step name (also logged with their traceback).
        self.failures: dict[str, str] = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._done = threading.Condition()
        self._pass_lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def run_once(self) -> int:
        """One pass over the steps (never two at once); returns how many wrote something."""
        wrote = 0
        with self._pass_lock:
            failures: dict[str, str] = {}
            for step in self.steps:
                try:
                    if step.run():
                        wrote += 1
                        log.info("index maintenance: %s written", step.name)
                except Exception as error:  # a failing step must not end the loop; the next pass retries
                    failures[step.name] = f"{type(error).__name__}: {error}"
                    log.exception("index maintenance: %s failed", step.name)
            self.failures = failures
        with self._done:
            self.passes += 1
            self._done.notify_all()
        return wrote

    def start(self) -> None:
        """Start the loop's thread (a daemon: it never keeps a process alive on its own)."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="papertide-index-maintenance", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.interval_s)
            self._wake.clear()
            if self._stop.is_set():
                return
            self.run_once()

    def wake(self) -> None:
        """Start a pass now instead of at the end of the interval."""
        self._wake.set()

    def wait_for_pass(self, after: int, timeout: float) -> bool:
        """Block until more than ``after`` passes are done (tests and shutdown); False on timeout."""
        with self._done:
            return self._done.wait_for(lambda: self.passes > after, timeout)

    def stop(self, timeout: float = 600.0) -> None:
        """Stop the loop, letting a pass in progress finish (a snapshot is never left half-written anyway)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("index maintenance still running after %.0f s; it ends with the process", timeout)
            self._thread = None
