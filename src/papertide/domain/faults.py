"""Named fault points for crash tests (test-only): ``PAPERTIDE_FAULT=POINT:COUNT`` ends the process there.

The delivery guarantee of docs/digest.md ("never lose a digest") rests on what happens
when a process dies at each step of sending; killing a subprocess after a sleep lands in a
different step on every machine (issue 9). Instead the delivery path calls
``reach_fault_point(name)`` at each step, and a test sets ``PAPERTIDE_FAULT`` to make the
process ``os._exit`` at the chosen point after COUNT earlier passes of it: the same window
on every machine, like SIGKILL (no cleanup, no ``finally``, connections dropped by the kernel).

The variable is read once, when this module is first imported; unset (always, outside the
tests) ``reach_fault_point`` is a function that returns at once. Each process counts its own
passes, so helper processes of a run (digest/parallel.py) fire too. This module breaks
domain/'s "no I/O" rule on purpose and only when armed: it is imported by mail/ and digest/,
and must sit below both.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass

ENVIRONMENT_VARIABLE = "PAPERTIDE_FAULT"
# What a process that stopped at a fault point exits with (SIGKILL would give -9 / 137).
FAULT_EXIT_CODE = 86
# Reached by `papertide digest run` (digest/deliver.py, mail/transport.py). Kept apart from ingest's
# points: a crash test of the digest that drew an ingest point would run to the end and never stop.
DELIVERY_FAULT_POINTS = (
    "after-claim",  # digest rows claimed and committed, nothing sent yet
    "after-envelope",  # a digest's envelope written ahead (SMTP), its held check and the last one's record not run
    "after-data",  # the message about to be handed over, not final (SMTP: DATA open, message + dot unwritten)
    "after-dot",  # SMTP: the final dot written, the server's reply not read
    "after-250",  # the receiver accepted (SMTP 250 to the dot; file outbox: renamed into place)
    "after-commit",  # the row recorded as sent
)
# Reached by ingest runs only (ingest/pipeline.py).
INGEST_FAULT_POINTS = (
    "after-batch-commit",  # a batch of papers committed, the run not finished
)
FAULT_POINTS = DELIVERY_FAULT_POINTS + INGEST_FAULT_POINTS


class InvalidFault(ValueError):
    """``PAPERTIDE_FAULT`` does not name a known point and a pass count."""


@dataclass(frozen=True, slots=True)
class Fault:
    """Stop at ``point`` after ``passes`` earlier passes of it."""

    point: str
    passes: int


def parse_fault(text: str) -> Fault:
    """``after-claim:1`` -> Fault("after-claim", 1); InvalidFault names what is wrong."""
    point, separator, count = text.strip().partition(":")
    if point not in FAULT_POINTS:
        known = ", ".join(FAULT_POINTS)
        raise InvalidFault(f"{ENVIRONMENT_VARIABLE}={text!r}: unknown point {point!r}; known: {known}")
    if not separator:
        count = "0"
    if not count.isascii() or not count.isdigit():
        raise InvalidFault(f"{ENVIRONMENT_VARIABLE}={text!r}: the count after ':' must be a whole number >= 0")
    return Fault(point, int(count))


class FaultTrigger:
    """Counts passes of the armed point and calls ``stop`` at the chosen one."""

    def __init__(self, fault: Fault, stop: Callable[[str], None]) -> None:
        self.fault = fault
        self.stop = stop
        self.passes = 0

    def reach(self, point: str) -> None:
        """One pass of ``point``; stops the process when it is the armed one."""
        if point != self.fault.point:
            return
        if self.passes == self.fault.passes:
            self.stop(f"fault point {point} fired after {self.passes} passes (pid {os.getpid()})")
        self.passes += 1


def _exit_now(reason: str) -> None:
    # Written straight to the file descriptor: no logging handler or buffer is flushed on the way out.
    os.write(2, f"papertide: {reason}; exiting with {FAULT_EXIT_CODE}\n".encode())
    os._exit(FAULT_EXIT_CODE)


def _ignore(point: str) -> None:
    """Unarmed: nothing to do."""


def _arm() -> Callable[[str], None]:
    text = os.environ.get(ENVIRONMENT_VARIABLE, "")
    if not text:
        return _ignore
    try:
        fault = parse_fault(text)
    except InvalidFault as error:
        # A misspelt point would make a crash test pass without ever crashing: refuse to run.
        sys.stderr.write(f"papertide: {error} (a test-only setting; unset it)\n")
        raise SystemExit(2) from None
    return FaultTrigger(fault, _exit_now).reach


reach_fault_point: Callable[[str], None] = _arm()
"""Called by the delivery path at each named point; stops the process there when armed."""
