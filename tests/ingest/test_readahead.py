"""Reading a source ahead in a second thread keeps order, errors and bounded memory."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from papertide.ingest.readahead import read_ahead


def test_items_arrive_in_order_across_chunks() -> None:
    assert list(read_ahead(range(1000), chunk=7, depth=2)) == list(range(1000))


def test_an_error_arrives_after_every_item_read_before_it() -> None:
    def source() -> Iterator[int]:
        yield from range(10)
        raise EOFError("truncated")

    seen: list[int] = []
    with pytest.raises(EOFError, match="truncated"):
        for item in read_ahead(source(), chunk=4):
            seen.append(item)
    assert seen == list(range(10))


def test_a_consumer_that_stops_early_stops_and_closes_the_source() -> None:
    closed = threading.Event()
    produced: list[int] = []

    def source() -> Iterator[int]:
        try:
            for number in range(1_000_000):
                produced.append(number)
                yield number
        finally:
            closed.set()

    reader = read_ahead(source(), chunk=10, depth=2)
    assert [next(reader) for _ in range(5)] == [0, 1, 2, 3, 4]
    reader.close()
    assert closed.is_set()
    assert len(produced) < 100  # bounded: at most a few chunks were read ahead
