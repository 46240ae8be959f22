"""Upserting papers: idempotence, versions, merging sources, the change sequence."""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import Engine, select

from papertide.domain.models import Paper
from papertide.store.engine import begin_write
from papertide.store.papers import get_paper_by_arxiv_id, upsert_papers
from papertide.store.schema import papers

NOW = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def make_paper(arxiv_id: str = "2501.01234", **changes: object) -> Paper:
    base = Paper(
        arxiv_id=arxiv_id,
        title="Learning chaotic dynamics with neural operators",
        abstract="We learn the dynamics of chaotic systems.",
        authors=("Ada Lovelace", "Alan Turing"),
        categories=("cs.LG", "math.DS"),
        primary_category="cs.LG",
        published=dt.date(2025, 1, 2),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def store(engine: Engine, *batch: Paper):
    with begin_write(engine) as conn:
        return upsert_papers(conn, list(batch), NOW)


def test_same_records_twice_change_nothing(engine: Engine) -> None:
    first = store(engine, make_paper(), make_paper("2501.00002"))
    with engine.connect() as conn:
        seq_before = conn.execute(select(papers.c.arxiv_id, papers.c.seq).order_by(papers.c.id)).all()
    second = store(engine, make_paper(), make_paper("2501.00002"))
    with engine.connect() as conn:
        seq_after = conn.execute(select(papers.c.arxiv_id, papers.c.seq).order_by(papers.c.id)).all()
    assert (first.new, first.updated, first.unchanged) == (2, 0, 0)
    assert (second.new, second.updated, second.unchanged) == (0, 0, 2)
    assert seq_before == seq_after


def test_newer_version_updates_and_takes_a_new_sequence_number(engine: Engine) -> None:
    store(engine, make_paper())
    with engine.connect() as conn:
        before = get_paper_by_arxiv_id(conn, "2501.01234")
        seq_before = conn.execute(select(papers.c.seq)).scalar_one()
    report = store(engine, make_paper(version=2, title="Learning chaotic dynamics, revised"))
    with engine.connect() as conn:
        after = get_paper_by_arxiv_id(conn, "2501.01234")
        seq_after = conn.execute(select(papers.c.seq)).scalar_one()
    assert report.updated == 1 and report.changed_ids == (before.id,)  # type: ignore[union-attr]
    assert after is not None and after.paper.version == 2
    assert after.paper.title == "Learning chaotic dynamics, revised"
    assert seq_after > seq_before


def test_older_version_does_not_overwrite_newer(engine: Engine) -> None:
    store(engine, make_paper(version=3, title="Third version"))
    report = store(engine, make_paper(version=1, title="First version"))
    with engine.connect() as conn:
        stored = get_paper_by_arxiv_id(conn, "2501.01234")
    assert report.unchanged == 1
    assert stored is not None and stored.paper.title == "Third version"


def test_empty_fields_of_a_later_source_keep_stored_values(engine: Engine) -> None:
    store(engine, make_paper(doi="10.1000/xyz", external_upvotes=12))
    store(engine, make_paper(categories=(), primary_category=None, external_upvotes=3))
    with engine.connect() as conn:
        stored = get_paper_by_arxiv_id(conn, "2501.01234")
    assert stored is not None
    assert stored.paper.categories == ("cs.LG", "math.DS")
    assert stored.paper.doi == "10.1000/xyz"
    assert stored.paper.external_upvotes == 12


def test_authors_keep_their_order(engine: Engine) -> None:
    store(engine, make_paper(authors=("Zed", "Amy", "Mo")))
    with engine.connect() as conn:
        stored = get_paper_by_arxiv_id(conn, "2501.01234")
    assert stored is not None and stored.paper.authors == ("Zed", "Amy", "Mo")


def test_within_one_batch_the_newest_version_wins_whatever_the_order(engine: Engine) -> None:
    report = store(
        engine,
        make_paper(version=2, title="Second version"),
        make_paper(version=3, title="Third version", doi="10.1000/v3"),
        make_paper(version=1, title="First version", journal_ref="J. Chaos 1", external_upvotes=9),
    )
    with engine.connect() as conn:
        stored = get_paper_by_arxiv_id(conn, "2501.01234")
    assert report.new == 1
    assert stored is not None
    assert (stored.paper.version, stored.paper.title, stored.paper.doi) == (3, "Third version", "10.1000/v3")
    # The older record still fills what the newer left empty and brings its upvotes.
    assert stored.paper.journal_ref == "J. Chaos 1" and stored.paper.external_upvotes == 9


def test_an_older_version_in_a_later_batch_keeps_the_newer_text_but_adds_its_upvotes(engine: Engine) -> None:
    store(engine, make_paper(version=3, title="Third version"))
    report = store(engine, make_paper(version=1, title="First version", external_upvotes=40))
    with engine.connect() as conn:
        stored = get_paper_by_arxiv_id(conn, "2501.01234")
    assert report.updated == 1
    assert stored is not None and stored.paper.version == 3 and stored.paper.title == "Third version"
    assert stored.paper.external_upvotes == 40
