"""Reads by a list of ids or addresses send one statement text whatever the list's length (issue 13).

On PostgreSQL an expanding ``IN`` list made a new text with one parameter per value for every
batch: psycopg converted its placeholders anew each time (it caches statements of at most 50
parameters) and the server planned it again. ``= ANY(array)`` keeps one text. What the client
sends is read from libpq's own protocol trace.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine

from papertide.store.deliveries import list_planned
from papertide.store.follows import list_followed_names_by_email
from papertide.store.papers import get_papers
from papertide.store.selections import (
    PoolSelections,
    list_delivery_selections,
    list_selection_items,
    list_subscriber_selection_ids,
)
from papertide.store.subscribers import get_subscribers
from tests.digest.digest_data import add_subscriber


def sent_texts(conn: Connection, trace: Path, read: Callable[[], object]) -> list[str]:
    """The SELECT texts (Parse, or simple Query) the client sends while ``read`` runs."""
    driver = conn.connection.driver_connection
    with trace.open("w") as sink:
        driver.pgconn.trace(sink.fileno())  # type: ignore[union-attr]
        try:
            read()
        finally:
            driver.pgconn.untrace()  # type: ignore[union-attr]
    # One message per line, but a statement's own line breaks continue it on the next lines.
    messages = re.split(r"\n(?=\d{4}-\d\d-\d\d )", trace.read_text())
    fields = [message.split("\t", 4) for message in messages]
    texts = [parts[4] for parts in fields if len(parts) == 5 and parts[1] == "F" and parts[3] in ("Parse", "Query")]
    return [text for text in texts if "SELECT" in text]


@pytest.mark.parametrize("dialect", ["postgres"])
def test_reading_subscribers_and_followed_authors_sends_one_text_for_3_or_300_values(
    engine: Engine, tmp_path: Path
) -> None:
    ids = [add_subscriber(engine, f"reader{i}@example.org").id for i in range(300)]
    emails = [f"reader{i}@example.org" for i in range(300)]
    with engine.connect() as conn:
        # psycopg skips Parse once it has prepared a text: the few calls before that send it.
        few = sent_texts(conn, tmp_path / "few.trace", lambda: get_subscribers(conn, ids[:3]))
        many = sent_texts(conn, tmp_path / "many.trace", lambda: get_subscribers(conn, ids))
        assert len(get_subscribers(conn, ids)) == 300
        few_names = sent_texts(conn, tmp_path / "a.trace", lambda: list_followed_names_by_email(conn, emails[:3]))
        many_names = sent_texts(conn, tmp_path / "b.trace", lambda: list_followed_names_by_email(conn, emails))
    assert len(few) == len(many) == 1, (few, many)
    assert few == many
    assert len(few_names) == len(many_names) == 1, (few_names, many_names)
    assert few_names == many_names


@pytest.mark.parametrize("dialect", ["postgres"])
def test_reading_selections_and_planned_rows_sends_one_text_for_3_or_300_values(engine: Engine, tmp_path: Path) -> None:
    ids = list(range(1, 301))
    pool = list(range(1, 3001))
    with engine.connect() as conn:
        reads: list[Callable[[list[int]], object]] = [
            lambda some: list_selection_items(conn, some),
            lambda some: list_delivery_selections(conn, some),
            lambda some: list_subscriber_selection_ids(conn, some),
            lambda some: list_planned(conn, some, ["day:2026-08-21"]),
            lambda some: PoolSelections(some).oldest(conn),
            lambda some: PoolSelections(pool).learn(conn, some),
        ]
        for number, read in enumerate(reads):
            longest = ids if number < 4 else pool
            few = sent_texts(conn, tmp_path / f"few{number}.trace", functools.partial(read, ids[:3]))
            many = sent_texts(conn, tmp_path / f"many{number}.trace", functools.partial(read, longest))
            assert len(few) == len(many) == 1, (number, few, many)
            assert few == many, number


@pytest.mark.parametrize("dialect", ["postgres"])
def test_reading_the_papers_of_a_page_sends_one_text_for_3_or_30_ids(engine: Engine, tmp_path: Path) -> None:
    with engine.connect() as conn:
        few = sent_texts(conn, tmp_path / "few.trace", lambda: get_papers(conn, list(range(1, 4))))
        many = sent_texts(conn, tmp_path / "many.trace", lambda: get_papers(conn, list(range(1, 31))))
    assert len(few) == len(many) == 1, (few, many)
    assert few == many
