"""Progress bars for long operations, shown only when stderr is a terminal.

Embedding runs for hours on a large corpus, so its progress also shows a rate and an ETA, and
when stderr is not a terminal (cron, a log file) it prints them as plain lines instead of a bar.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO

from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from papertide.cli.context import console


@contextmanager
def file_progress(label: str, handle: IO[bytes]) -> Iterator[Callable[[int], None]]:
    """A bar over the bytes of an open file; yields the function that advances it."""
    try:
        total: int | None = os.fstat(handle.fileno()).st_size
    except (OSError, AttributeError, ValueError):
        total = None
    with bytes_progress(label, total) as advance:
        yield advance


@contextmanager
def bytes_progress(label: str, total: int | None) -> Iterator[Callable[[int], None]]:
    """A bar over a number of bytes (copies of large files); yields the function that advances it."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=False, disable=not console.is_terminal) as progress:
        task = progress.add_task(label, total=total)
        yield lambda size: progress.advance(task, size)


def count_columns() -> tuple[ProgressColumn, ...]:
    """The columns of a bar over a known number of items: label, bar, n/total, time taken and left."""
    return (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )


@contextmanager
def count_progress(label: str, total: int | None) -> Iterator[Callable[[int], None]]:
    """A bar over a number of items; yields the function that advances it."""
    columns = count_columns()
    with Progress(*columns, console=console, transient=False, disable=not console.is_terminal) as progress:
        task = progress.add_task(label, total=total)
        yield lambda size: progress.advance(task, size)


# Plain progress lines (stderr not a terminal) at most this often after the first one.
REPORT_EVERY_S = 30.0


class RateColumn(ProgressColumn):
    """Items per second, e.g. ``12.3 papers/s``."""

    def __init__(self, unit: str) -> None:
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:.1f} {self.unit}/s" if speed else f"? {self.unit}/s")


def format_duration(seconds: float) -> str:
    """``H:MM:SS`` for a person."""
    return str(dt.timedelta(seconds=round(seconds)))


def format_rate(label: str, done: int, total: int | None, elapsed: float, unit: str) -> str:
    """One progress line: done of total, the rate so far and the time left at that rate."""
    rate = done / elapsed if elapsed > 0 else 0.0
    line = f"{label}: {done}/{total} {unit}" if total is not None else f"{label}: {done} {unit}"
    line += f", {rate:.1f} {unit}/s"
    if total is not None and rate > 0:
        line += f", ETA {format_duration(max(0, total - done) / rate)}"
    return line


def format_done(label: str, done: int, elapsed: float, unit: str) -> str:
    """The closing line: how many, how long, how fast."""
    rate = f", {done / elapsed:.1f} {unit}/s" if elapsed > 0 and done else ""
    return f"{label}: {done} {unit} in {format_duration(elapsed)}{rate}"


@contextmanager
def rate_progress(
    label: str, total: int | None, unit: str, *, clock: Callable[[], float] = time.monotonic
) -> Iterator[Callable[[int], None]]:
    """A bar with the rate and the ETA on a terminal, plain lines elsewhere; a closing line with the rate."""
    started = clock()
    done = 0
    last_line: float | None = None
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(unit),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=False, disable=not console.is_terminal) as progress:
        task = progress.add_task(label, total=total)

        def advance(size: int) -> None:
            nonlocal done, last_line
            done += size
            progress.advance(task, size)
            now = clock()
            if not console.is_terminal and (last_line is None or now - last_line >= REPORT_EVERY_S):
                last_line = now
                console.print(format_rate(label, done, total, now - started, unit), markup=False, highlight=False)

        yield advance
    if done:
        console.print(format_done(label, done, clock() - started, unit), markup=False, highlight=False)
