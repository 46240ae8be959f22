"""Helper processes that deliver alongside the run's own process, for large lists.

Helpers start before planning and send each batch as soon as the planner has written it, so
planning 100,000 digests overlaps with delivering them. Each helper is a fresh interpreter
(multiprocessing "spawn") that opens its own engine and transport and runs the same
single-threaded delivery loop as the parent; claims keep them apart (store/deliveries.py). A
helper stops when its parent is gone (a killed run leaves no orphans sending on its own): it
finishes the message in hand and records it, gives back its other claims and exits. A
helper that dies itself leaves its claims ``sending``; the next run takes them over
(digest/workers.py). Processes rather than threads, so that composing runs on every core.
"""

from __future__ import annotations

import dataclasses
import gc
import multiprocessing
import os
import queue
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

    def count(number: int) -> None:
        with sent.get_lock():
            sent.value += number

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
                advance=count,
                should_stop=lambda: os.getppid() != setup.parent_pid,
                freeze=gc.freeze,
            )
            # What the helper made so far (imported modules, compiled templates, the engine) lives as long as
            # the helper: kept out of the collector's full passes (digest/heap.py), and what each batch adds to
            # its caches after that batch (``freeze``); the helper exits unfrozen.
            gc.freeze()
            try:
                while True:
                    # Read before draining: a drain that began after planning ended has seen every row.
                    planning_over = planned.is_set()
                    if not delivery.drain() or planning_over:
                        break
                    planned.wait(_POLL_S)
            finally:
                delivery.close()
    finally:
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
