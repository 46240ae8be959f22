"""Helper processes that deliver alongside the run's own process, for large lists.

Helpers start before planning and send each batch as soon as the planner has written it, so
planning 100,000 digests overlaps with delivering them. Each helper is a fresh interpreter
(multiprocessing "spawn") that opens its own engine and transport and runs the same
single-threaded delivery loop as the parent; claims keep them apart (store/deliveries.py). A
helper stops when its parent is gone (a killed run leaves no orphans sending on its own): it
finishes the message in hand and records it, gives back its other claims and exits. A
helper that dies itself leaves its claims ``sending``; the next run takes them over
(digest/workers.py). Processes rather than threads, so that composing runs on every core.

The run's progress counts the helpers' digests through one shared counter, a lock and a
value in shared memory; a helper adds to it in batches (``SentTally``: every 32 digests, or
0.2 s after the last addition, and whenever it stops sending), not once per message.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import queue
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from multiprocessing.sharedctypes import Synchronized
from typing import Any

from papertide.digest.compose import MailComposer, MailSite
from papertide.digest.deliver import Delivery, DeliveryReport, Transports
from papertide.digest.policy import DigestPolicy
from papertide.digest.workers import make_worker_name, retire_worker
from papertide.domain.clock import utc_now
from papertide.store.deliveries import release_deliveries
from papertide.store.engine import begin_write, make_engine

_CONTEXT = multiprocessing.get_context("spawn")
# How often a helper looks for newly planned digests while planning goes on.
_POLL_S = 0.2
# A helper adds its sent digests to the run's progress after this many, or this long after its last addition.
TALLY_EVERY = 32
TALLY_INTERVAL_S = 0.2


class SentTally:
    """A helper's sent digests, added to the run's shared counter in batches.

    The shared counter takes a cross-process lock; at one addition per message that is work
    repeated 100,000 times for a figure the terminal redraws a few times a second. ``flush``
    adds what is pending at once (the helper calls it whenever a drain ends and when it exits),
    so the run's final count is exact.
    """

    def __init__(
        self,
        shared: Synchronized[int],
        *,
        every: int = TALLY_EVERY,
        interval: float = TALLY_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.shared = shared
        self.every = every
        self.interval = interval
        self.clock = clock
        self.pending = 0
        self._added_at = clock()

    def add(self, number: int) -> None:
        """Count ``number`` more sent digests; reaches the shared counter when enough are pending or time has passed."""
        self.pending += number
        if self.pending >= self.every or self.clock() - self._added_at >= self.interval:
            self.flush()

    def flush(self) -> None:
        """Add every pending digest to the shared counter now."""
        if self.pending:
            with self.shared.get_lock():
                self.shared.value += self.pending
            self.pending = 0
        self._added_at = self.clock()


@dataclass(frozen=True)
class HelperSetup:
    """What a helper needs, all picklable (``transports`` too: e.g. a ``functools.partial``)."""

    database_url: str
    transports: Transports
    site: MailSite
    policy: DigestPolicy
    parent_pid: int


def _deliver(setup: HelperSetup, results: Any, sent: Synchronized[int], planned: Any) -> None:
    """A helper's whole life: deliver until planning is over and nothing is due (or the parent is gone)."""
    engine = make_engine(setup.database_url)
    worker = make_worker_name()
    tally = SentTally(sent)
    delivery: Delivery | None = None
    try:
        with setup.transports() as transport:
            delivery = Delivery(
                engine,
                transport,
                MailComposer(setup.site),
                policy=setup.policy,
                worker=worker,
                clock=utc_now,
                advance=tally.add,
                should_stop=lambda: os.getppid() != setup.parent_pid,
            )
            try:
                while True:
                    # Read before draining: a drain that began after planning ended has seen every row.
                    planning_over = planned.is_set()
                    drained = delivery.drain()
                    tally.flush()  # nothing more is sent until the next drain: the progress shows all
                    if not drained or planning_over:
                        break
                    planned.wait(_POLL_S)
            finally:
                delivery.close()
    finally:
        tally.flush()
        with begin_write(engine) as conn:
            release_deliveries(conn, None, worker)
        retire_worker(worker)
        engine.dispose()
        report = delivery.report if delivery is not None else DeliveryReport(failure="the helper could not start")
        if os.getppid() == setup.parent_pid:  # nobody reads the report of a run that was killed
            results.put(dataclasses.asdict(report))


class Helpers:
    """Started helper processes; ``join()`` waits for them and returns their reports."""

    def __init__(self, setup: HelperSetup, count: int) -> None:
        self.results: Any = _CONTEXT.Queue()
        self.sent: Synchronized[int] = _CONTEXT.Value("i", 0)
        self.planned: Any = _CONTEXT.Event()
        arguments = (setup, self.results, self.sent, self.planned)
        self.processes: list[BaseProcess] = [
            _CONTEXT.Process(target=_deliver, args=arguments, daemon=True) for _ in range(count)
        ]
        for process in self.processes:
            process.start()

    def planning_done(self) -> None:
        """Tell the helpers that no more digests will be planned in this run."""
        self.planned.set()

    def join(self) -> list[DeliveryReport]:
        """Wait for every helper; a helper that crashed reports as a failure."""
        self.planned.set()
        reports: list[DeliveryReport] = []
        for process in self.processes:
            process.join()
        for process in self.processes:
            try:
                reports.append(DeliveryReport(**self.results.get(timeout=5)))
            except queue.Empty:
                reports.append(DeliveryReport(failure=f"a delivery helper exited with code {process.exitcode}"))
        return reports


def merge_reports(into: DeliveryReport, others: list[DeliveryReport]) -> None:
    """Add the helpers' counts to the run's report; the first failure stays."""
    for other in others:
        for field in dataclasses.fields(DeliveryReport):
            if field.name == "failure":
                into.failure = into.failure or other.failure
            else:
                setattr(into, field.name, getattr(into, field.name) + getattr(other, field.name))
