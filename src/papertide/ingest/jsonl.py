"""Import of plain JSON lines in papertide's documented schema (docs/jsonl.md)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from papertide.domain.errors import InvalidRecord
from papertide.domain.limits import MAX_LINE_BYTES
from papertide.domain.models import Paper
from papertide.ingest.paper_fields import paper_from_record


def read_jsonl_papers(
    handle: IO[bytes], name: str, on_record: Callable[[int], None] | None = None
) -> Iterator[Paper | InvalidRecord]:
    """Yield a Paper for each valid line and an InvalidRecord (never raised) for each bad one.

    Lines are decoded one at a time so a wrong encoding is reported with its line number
    and memory stays flat however long the file is; a line longer than ``MAX_LINE_BYTES`` is
    skipped unread. Blank lines are ignored.
    """
    for number, raw, length in _read_lines(handle):
        if on_record:
            on_record(length)
        location = f"{name}:{number}"
        if raw is None:
            yield InvalidRecord(location, f"line is {length:,} bytes long; at most {MAX_LINE_BYTES:,} are accepted")
            continue
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
        except RecursionError:
            yield InvalidRecord(location, "JSON nested too deeply: a paper record is one flat object")
            continue
        try:
            yield paper_from_record(record, location)
        except InvalidRecord as problem:
            yield problem


def _read_lines(handle: IO[bytes]) -> Iterator[tuple[int, bytes | None, int]]:
    """(line number, line or None when too long, length in bytes), reading at most a bounded chunk at once."""
    number = 0
    while True:
        raw = handle.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        number += 1
        if len(raw) <= MAX_LINE_BYTES or raw.endswith(b"\n"):
            yield number, raw, len(raw)
            continue
        length = len(raw)
        while not raw.endswith(b"\n"):
            raw = handle.readline(MAX_LINE_BYTES)
            if not raw:
                break
            length += len(raw)
        yield number, None, length


def open_jsonl(path: Path) -> IO[bytes]:
    """Open a JSONL file for reading; the caller closes it."""
    return path.open("rb")
