"""Digest topics are matched by the real search service among the run's candidate papers."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

from sqlalchemy import Engine

from papertide.digest.compose import MailComposer
from papertide.digest.job import run_digest
from papertide.digest.plan import make_topic_matcher
from papertide.domain.subscribers import Topics
from papertide.mail.transport import SmtpTransport
from papertide.search.lexical.index import LexicalIndex
from papertide.search.query import SearchService
from tests.digest.digest_data import NOW, add_subscriber, make_paper, store_papers
from tests.digest.smtp_sink import SmtpSink
from tests.digest.test_job import FakeClock


def test_a_paper_published_long_before_its_listing_day_matches_its_subscribers_topic_and_lands_in_the_digest(
    engine: Engine, smtp_sink: SmtpSink, composer: MailComposer, tmp_path: Path
) -> None:
    popular = [make_paper(i, upvotes=100 + i, title=f"Popular paper {i}") for i in range(1, 6)]
    # Published in February, listed (trending) yesterday: the candidates are chosen by listing day.
    old = dataclasses.replace(
        make_paper(9, title="Chaotic flows in neural operators", abstract="Chaotic flows are learned."),
        published=dt.date(2026, 2, 1),
    )
    # A paper on the topic listed long ago is no candidate, so it must not be matched either.
    stale = make_paper(10, title="Chaotic flows revisited", listed_on=dt.date(2026, 3, 2), upvotes=500)
    store_papers(engine, [*popular, old, stale])
    add_subscriber(engine, "jane@example.org", size=3, topics=Topics(phrases=("chaotic flows",)))
    index = LexicalIndex(engine, tmp_path / "lexical")
    index.open()
    matcher = make_topic_matcher(SearchService(engine, index).search_ids)
    clock = FakeClock(NOW)
    run_digest(
        engine, lambda: SmtpTransport(smtp_sink.url), composer, now=NOW, clock=clock, sleep=clock.sleep, matcher=matcher
    )
    text = smtp_sink.received[0].parsed().get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Chaotic flows in neural operators" in text
    assert "Why: matches your topic 'chaotic flows'" in text
    assert "Chaotic flows revisited" not in text
