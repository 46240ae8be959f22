"""Import of plain JSON lines in papertide's documented schema (docs/jsonl.md)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from papertide.domain.errors import InvalidRecord
from papertide.domain.models import Paper
from papertide.ingest.paper_fields import paper_from_record


def read_jsonl_papers(
    handle: IO[bytes], name: str, on_record: Callable[[int], None] | None = None
) -> Iterator[Paper | InvalidRecord]:
    """Yield a Paper for each valid line and an InvalidRecord (never raised) for each bad one.

    Lines are decoded one at a time so a wrong encoding is reported with its line number
    and memory stays flat however long the file is. Blank lines are ignored.
    """
    for number, raw in enumerate(handle, start=1):
        if on_record:
            on_record(len(raw))
        location = f"{name}:{number}"
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            yield InvalidRecord(location, f"not valid UTF-8 (byte {error.start}): re-encode the file as UTF-8")
            continue
        if number == 1 and line.startswith("\ufeff"):
            line = line[1:]
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            yield InvalidRecord(location, f"invalid JSON at column {error.colno}: {error.msg}")
            continue
        try:
            yield paper_from_record(record, location)
        except InvalidRecord as problem:
            yield problem


def open_jsonl(path: Path) -> IO[bytes]:
    """Open a JSONL file for reading; the caller closes it."""
    return path.open("rb")
