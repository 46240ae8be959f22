"""`migrate-to`'s copy: every table of the schema reaches PostgreSQL whole, or nothing does (issue 14)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, func, insert, select

from papertide.domain.clock import as_utc
from papertide.domain.models import Paper
from papertide.search.changes import fetch_database_id
from papertide.store.categories import count_category_papers, list_category_paper_ids
from papertide.store.engine import begin_write, make_engine
from papertide.store.migrate import downgrade_database, head_revision, upgrade_database
from papertide.store.papers import upsert_papers
from papertide.store.schema import (
    author_follows,
    collection_items,
    collections,
    comment_reports,
    comment_votes,
    comments,
    digest_outbox,
    digest_selection_items,
    digest_selections,
    harvest_state,
    ingest_runs,
    job_leases,
    login_tokens,
    metadata,
    paper_signals,
    paper_vectors,
    papers,
    rate_events,
    submissions,
    subscribers,
    topic_vectors,
    users,
    votes,
)
from papertide.store.transfer import TransferError, copy_database, copy_order, held_rows
from papertide.store.transfer_setup import open_postgres_target
from tests.corpus import load_small_corpus

NOW = dt.datetime(2026, 11, 28, 9, 30, tzinfo=dt.UTC)
DAY = dt.date(2026, 11, 27)


def fill_every_table(engine: Engine) -> None:
    """Rows in every table of the schema; a new table needs its rows here (the test below says so)."""
    load_small_corpus(engine)
    with begin_write(engine) as conn:
        # The small corpus has no categories: two papers that do fill paper_categories.
        upsert_papers(
            conn,
            [
                Paper(arxiv_id="2611.09001", title="A", abstract="a", categories=("cs.LG", "stat.ML"), published=DAY),
                Paper(arxiv_id="2611.09002", title="B", abstract="b", categories=("cs.LG",), published=NOW.date()),
            ],
            NOW,
        )
    fetch_database_id(engine)
    with engine.connect() as conn:
        first, second = conn.execute(select(papers.c.id).order_by(papers.c.id).limit(2)).scalars()
    with begin_write(engine) as conn:
        # Ids with a gap: the sequences must continue after the highest, not after the count.
        conn.execute(insert(users), [{"id": 1, "email": "ada@example.org", "created_at": NOW, "handle": "ada"}])
        conn.execute(insert(users), [{"id": 7, "email": "bob@example.org", "created_at": NOW, "role": "moderator"}])
        conn.execute(
            insert(login_tokens),
            [{"token_hash": "h" * 64, "email": "ada@example.org", "created_at": NOW, "expires_at": NOW}],
        )
        conn.execute(insert(votes), [{"user_id": 1, "paper_id": first, "created_at": NOW}])
        conn.execute(insert(rate_events), [{"key": "vote:1", "created_at": NOW}])
        conn.execute(
            insert(paper_signals),
            [{"paper_id": first, "source": "hf", "listed_on": DAY, "upvotes": 4, "comments": 1, "fetched_at": NOW}],
        )
        conn.execute(
            insert(harvest_state), [{"source": "oai", "key": "cs", "value": {"from": "2026-11-01"}, "updated_at": NOW}]
        )
        conn.execute(insert(ingest_runs), [{"source": "oai", "started_at": NOW, "status": "done"}])
        conn.execute(insert(job_leases), [{"name": "digest", "next_run_at": NOW}])
        conn.execute(
            insert(paper_vectors),
            [
                {
                    "paper_id": paper_id,
                    "model": "test@p1",
                    "dim": 2,
                    "vector": bytes(range(8)),
                    "seq": 1,
                    "text_hash": "t",
                    "change_seq": change_seq,
                }
                for change_seq, paper_id in enumerate((first, second), start=1)
            ],
        )
        subscriber = conn.execute(
            insert(subscribers).returning(subscribers.c.id),
            {"email": "sub@example.org", "status": "confirmed", "topics": {"topics": ["ODE"]}, "created_at": NOW},
        ).scalar_one()
        selection = conn.execute(
            insert(digest_selections).returning(digest_selections.c.id), {"created_at": NOW}
        ).scalar_one()
        conn.execute(
            insert(digest_selection_items),
            [{"selection_id": selection, "paper_id": first, "position": 0, "reason": "trending"}],
        )
        conn.execute(
            insert(digest_outbox),
            {
                "subscriber_id": subscriber,
                "period_key": "day:2026-11-28",
                "state": "sent",
                "message_id": "<m@x>",
                "due_at": NOW,
                "created_at": NOW,
                "selection_id": selection,
            },
        )
        conn.execute(
            insert(topic_vectors),
            [{"topic": "t" * 64, "space": "s" * 64, "vector": b"\x00\x00\x80?" * 4, "created_at": NOW}],
        )
        conn.execute(insert(submissions), [{"paper_id": second, "user_id": 1, "listed_on": DAY, "created_at": NOW}])
        parent = conn.execute(
            insert(comments).returning(comments.c.id),
            {"paper_id": first, "user_id": 1, "body": "**nice**", "created_at": NOW},
        ).scalar_one()
        reply = conn.execute(
            insert(comments).returning(comments.c.id),
            {"paper_id": first, "user_id": 7, "parent_id": parent, "body": "agreed", "created_at": NOW},
        ).scalar_one()
        conn.execute(insert(comment_votes), [{"comment_id": parent, "user_id": 7, "created_at": NOW}])
        conn.execute(
            insert(comment_reports), [{"comment_id": reply, "reporter_id": 1, "reason": "spam", "created_at": NOW}]
        )
        collection = conn.execute(
            insert(collections).returning(collections.c.id),
            {"owner_id": 1, "slug": "odes", "title": "ODEs", "is_public": True, "created_at": NOW, "updated_at": NOW},
        ).scalar_one()
        conn.execute(
            insert(collection_items),
            [{"collection_id": collection, "paper_id": second, "position": 1, "added_at": NOW}],
        )
        conn.execute(
            insert(author_follows),
            [{"user_id": 1, "author_key": "lovelace a", "display_name": "Ada Lovelace", "created_at": NOW}],
        )


def _normalised(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return as_utc(value)
    if isinstance(value, memoryview):
        return bytes(value)
    return value


def read_everything(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, values normalised (aware UTC datetimes) and sorted in Python, not by collation."""
    with engine.connect() as conn:
        return {
            table.name: sorted(
                (tuple(_normalised(value) for value in row) for row in conn.execute(select(table))), key=repr
            )
            for table in metadata.sorted_tables
        }


@pytest.fixture
def source(sqlite_engine: Engine) -> Engine:
    fill_every_table(sqlite_engine)
    return sqlite_engine


@pytest.fixture
def target(empty_postgres_url: str) -> Iterator[Engine]:
    engine = open_postgres_target(empty_postgres_url)
    yield engine
    engine.dispose()


def test_every_table_of_the_schema_arrives_with_every_row_and_value(source: Engine, target: Engine) -> None:
    before = read_everything(source)
    assert [name for name, rows in before.items() if not rows] == [], "add rows of the new table to fill_every_table"
    report = copy_database(source, target, batch_size=7)
    assert [check.name for check in report.tables] == [table.name for table in copy_order()]
    assert {check.name for check in report.tables} == set(metadata.tables)
    assert all(check.matches for check in report.tables)
    assert {check.name: check.target_rows for check in report.tables} == {
        name: len(rows) for name, rows in before.items()
    }
    assert read_everything(target) == before
    assert report.revision == head_revision()


def test_category_lists_read_the_same_after_the_copy_and_stay_in_step_on_the_target(
    source: Engine, target: Engine
) -> None:
    with source.connect() as conn:
        before = list_category_paper_ids(conn, "cs.LG", limit=10), count_category_papers(conn, "cs.LG")
    report = copy_database(source, target)
    assert {check.name: check.target_rows for check in report.tables}["paper_categories"] == 3
    with target.connect() as conn:
        assert (list_category_paper_ids(conn, "cs.LG", limit=10), count_category_papers(conn, "cs.LG")) == before
    with begin_write(target) as conn:
        upsert_papers(
            conn, [Paper(arxiv_id="2611.09001", version=2, title="A", abstract="a", categories=("math.OC",))], NOW
        )
    with target.connect() as conn:
        assert len(list_category_paper_ids(conn, "cs.LG", limit=10)) == 1
        assert len(list_category_paper_ids(conn, "math.OC", limit=10)) == 1


def test_ids_continue_after_the_highest_copied_one(source: Engine, target: Engine) -> None:
    report = copy_database(source, target)
    assert report.next_ids["users"] == 8
    with begin_write(target) as conn:
        new = conn.execute(
            insert(users).returning(users.c.id), {"email": "eve@example.org", "created_at": NOW}
        ).scalar_one()
        paper = conn.execute(select(func.max(papers.c.id))).scalar_one()
    assert new == 8 and report.next_ids["papers"] == paper + 1


def test_a_row_postgresql_cannot_store_fails_the_copy_and_leaves_the_target_empty(
    source: Engine, target: Engine
) -> None:
    # SQLite stores a NUL character; PostgreSQL text cannot. The table comes after papers, so
    # papers were already written in the transaction that the failure rolls back.
    with begin_write(source) as conn:
        conn.execute(collection_items.update().values(note="a\x00b"))
    order = [table.name for table in copy_order()]
    assert order.index("papers") < order.index("collection_items")
    with pytest.raises(
        TransferError, match=r"table collection_items, row collection_id=\d+, paper_id=\d+, column note"
    ):
        copy_database(source, target)
    with target.connect() as conn:
        assert held_rows(conn) == {}


def test_a_string_longer_than_its_column_is_named_with_its_row(source: Engine, target: Engine) -> None:
    with begin_write(source) as conn:
        conn.execute(users.update().where(users.c.id == 7).values(handle="x" * 31))
    with pytest.raises(TransferError, match=r"table users, row id=7, column handle: 31 characters, .* at most 30"):
        copy_database(source, target)


def test_a_target_holding_data_is_refused_unless_replace_is_asked(source: Engine, target: Engine) -> None:
    copy_database(source, target)
    with begin_write(source) as conn:
        conn.execute(votes.delete())
    with pytest.raises(TransferError, match="already holds papertide data"):
        copy_database(source, target)
    with target.connect() as conn:
        assert conn.execute(select(func.count()).select_from(votes)).scalar_one() == 1
    report = copy_database(source, target, replace=True)
    assert all(check.matches for check in report.tables)
    assert read_everything(target) == read_everything(source)


def test_a_target_at_another_schema_revision_is_refused(empty_postgres_url: str) -> None:
    engine = make_engine(empty_postgres_url)
    upgrade_database(engine)
    downgrade_database(engine, "-1")
    engine.dispose()
    with pytest.raises(TransferError, match=r"is at schema \w+, and this papertide writes"):
        open_postgres_target(empty_postgres_url)
