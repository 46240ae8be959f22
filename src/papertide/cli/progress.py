"""Progress bars for long operations, shown only when stderr is a terminal."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO

from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from papertide.cli.context import console


@contextmanager
def file_progress(label: str, handle: IO[bytes]) -> Iterator[Callable[[int], None]]:
    """A bar over the bytes of an open file; yields the function that advances it."""
    try:
        total: int | None = os.fstat(handle.fileno()).st_size
    except (OSError, AttributeError, ValueError):
        total = None
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


@contextmanager
def count_progress(label: str, total: int | None) -> Iterator[Callable[[int], None]]:
    """A bar over a number of items; yields the function that advances it."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=False, disable=not console.is_terminal) as progress:
        task = progress.add_task(label, total=total)
        yield lambda size: progress.advance(task, size)
