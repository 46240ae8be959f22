"""Reads by a list of ids or addresses send one statement text whatever the list's length (issue 13).

On PostgreSQL an expanding ``IN`` list made a new text with one parameter per value for every
batch: psycopg converted its placeholders anew each time (it caches statements of at most 50
parameters) and the server planned it again. ``= ANY(array)`` keeps one text. What the client
sends is read from libpq's own protocol trace.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine

from papertide.store.follows import list_followed_names_by_email
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
