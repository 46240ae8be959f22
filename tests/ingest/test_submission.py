"""Submitting a paper by arXiv id or URL, against a local server answering with the recorded arXiv response."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, func, select

from papertide.community.moderation import Moderation
from papertide.domain.accounts import Role, User
from papertide.domain.errors import InvalidInput, ProfileRequired, RateLimited, Suspended
from papertide.domain.models import Paper
from papertide.domain.submissions import SubmissionRule
from papertide.ingest.submission import (
    ArxivUnavailable,
    PaperWithdrawn,
    SubmissionPolicy,
    UnknownPaper,
    parse_submitted_id,
    submit_paper,
)
from papertide.store.accounts import get_user, write_login
from papertide.store.authorship import list_author_paper_ids
from papertide.store.engine import begin_write
from papertide.store.members import write_profile, write_role, write_suspension
from papertide.store.papers import count_papers, get_paper_by_arxiv_id, upsert_papers
from papertide.store.schema import submissions, votes
from papertide.store.submissions import list_active_submissions
from tests.ingest.ingest_server import Answer, FeedServer, atom_page, polite_client, recorded_entries, running_server

NOW = dt.datetime(2015, 1, 28, 10, 0, tzinfo=dt.UTC)
TODAY = dt.date(2015, 1, 28)
POLICY = SubmissionPolicy(max_age_days=14, per_member_per_day=5)
ARXIV_ERROR = b"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title type="html">ArXiv Query: search_query=&amp;id_list=1501.99999</title>
  <id>http://arxiv.org/api/errors</id>
  <opensearch:totalResults xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">1</opensearch:totalResults>
  <opensearch:startIndex xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">0</opensearch:startIndex>
  <entry>
    <id>http://arxiv.org/api/errors#incorrect_id_format_for_1501.99999</id>
    <title>Error</title>
    <summary>incorrect id format for 1501.99999</summary>
  </entry>
</feed>
"""


def by_id(query: dict[str, str]) -> Answer:
    """The arXiv API's answer to ``id_list``: the recorded entry of that id, or an empty feed."""
    wanted = query.get("id_list", "")
    found = [entry for entry in recorded_entries() if f"abs/{wanted}v" in entry]
    return Answer(atom_page(0, 1, entries=found)) if found else Answer(atom_page(0, 0, total=0, entries=[]))


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with running_server() as running:
        yield running


def member(engine: Engine, name: str, *, handle: bool = True) -> User:
    with begin_write(engine) as conn:
        user = write_login(conn, f"{name}@example.org", NOW - dt.timedelta(days=30))
        if handle:
            write_profile(conn, user.id, handle=name, display_name=name.title())
        found = get_user(conn, user.id)
    assert found is not None
    return found


def submit(
    engine: Engine, server: FeedServer, raw: str, who: User, policy: SubmissionPolicy = POLICY, **kwargs: object
):
    url = server.routes.get("/api/query") and server.url + "/api/query"
    with polite_client("submission") as client:
        return submit_paper(engine, client, url or "", raw, who.id, policy=policy, clock=lambda: NOW, **kwargs)  # type: ignore[arg-type]


def count(engine: Engine, table: object) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1501.05039", "1501.05039"),
        ("1501.05039v2", "1501.05039"),
        ("arXiv:1501.05039", "1501.05039"),
        ("https://arxiv.org/abs/1501.05039v1", "1501.05039"),
        ("http://arxiv.org/pdf/1501.05039v1.pdf", "1501.05039"),
        ("https://arxiv.org/pdf/1501.05039", "1501.05039"),
        ("arxiv.org/abs/1501.05039", "1501.05039"),
        ("https://export.arxiv.org/abs/hep-th/9901001v3", "hep-th/9901001"),
        ("hep-th/9901001", "hep-th/9901001"),
        ("https://huggingface.co/papers/2501.01234", "2501.01234"),
    ],
)
def test_every_spelling_of_an_id_is_understood(raw: str, expected: str) -> None:
    assert parse_submitted_id(raw) == expected


@pytest.mark.parametrize(
    "raw", ["", "hello", "https://example.org/abs/1501.05039", "1501.050391", "javascript:alert(1)"]
)
def test_anything_else_is_refused_naming_the_field(raw: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_submitted_id(raw)
    assert refused.value.field == "arxiv_id"


def test_a_new_paper_is_fetched_stored_indexed_and_listed_today_with_the_submitters_upvote(
    engine: Engine, server: FeedServer
) -> None:
    server.route("/api/query", by_id)
    ada = member(engine, "ada")
    indexed: list[list[int]] = []
    outcome = submit(
        engine, server, "https://arxiv.org/abs/1501.05039v1", ada, on_changed=lambda ids: indexed.append(list(ids))
    )
    assert outcome.rule is SubmissionRule.LISTED_NEW and outcome.listed_today
    assert outcome.paper.paper.listed_on == TODAY and outcome.paper.community_upvotes == 1
    assert outcome.submission is not None and outcome.submission.submitter_handle == "ada"
    assert indexed == [[outcome.paper.id]]
    assert [r.query["id_list"] for r in server.requests] == ["1501.05039"]
    with engine.connect() as conn:
        assert list_author_paper_ids(conn, "zhu_y", limit=5) == [outcome.paper.id]
        assert list_active_submissions(conn, [outcome.paper.id])[outcome.paper.id].submitter_name == "Ada"


def test_a_paper_already_listed_today_is_left_alone(engine: Engine, server: FeedServer) -> None:
    server.route("/api/query", by_id)
    ada, bob = member(engine, "ada"), member(engine, "bob")
    submit(engine, server, "1501.05039", ada)
    again = submit(engine, server, "arXiv:1501.05039v1", bob)
    assert again.rule is SubmissionRule.ALREADY_TODAY and "already on today's list" in again.message
    assert again.submission is None and len(server.requests) == 1
    assert count(engine, submissions) == 1 and count(engine, votes) == 1


def test_a_paper_listed_on_an_earlier_day_is_relisted_today_when_recent(engine: Engine, server: FeedServer) -> None:
    with begin_write(engine) as conn:
        upsert_papers(
            conn,
            [
                Paper(
                    "1501.05039",
                    "Defining Data Science",
                    "x",
                    published=dt.date(2015, 1, 21),
                    listed_on=dt.date(2015, 1, 22),
                )
            ],
            NOW,
        )
    ada = member(engine, "ada")
    outcome = submit(engine, server, "1501.05039", ada)
    assert outcome.rule is SubmissionRule.RELISTED
    assert "listed on 22 Jan 2015" in outcome.message and "within the 14-day limit" in outcome.message
    assert outcome.paper.paper.listed_on == TODAY and server.requests == []


def test_a_paper_older_than_the_maximum_age_is_stored_but_not_listed_today(engine: Engine, server: FeedServer) -> None:
    server.route("/api/query", by_id)
    ada = member(engine, "ada")
    outcome = submit(engine, server, "https://arxiv.org/pdf/quant-ph/0210005v1", ada)
    assert outcome.rule is SubmissionRule.TOO_OLD and not outcome.listed_today
    assert "more than 14 days ago" in outcome.message and "stays on the list of 01 Oct 2002" in outcome.message
    assert outcome.paper.paper.listed_on is None and outcome.paper.community_upvotes == 0
    assert count(engine, submissions) == 0 and count(engine, votes) == 0
    again = submit(engine, server, "quant-ph/0210005", ada)
    assert again.rule is SubmissionRule.TOO_OLD and len(server.requests) == 1


def test_an_unknown_id_is_refused_and_nothing_is_stored(engine: Engine, server: FeedServer) -> None:
    server.route("/api/query", by_id)
    with pytest.raises(UnknownPaper) as refused:
        submit(engine, server, "2501.99999", member(engine, "ada"))
    assert "arXiv has no paper 2501.99999" in str(refused.value)
    with engine.connect() as conn:
        assert count_papers(conn) == 0
    assert count(engine, submissions) == 0


def test_an_arxiv_error_feed_means_the_paper_is_unknown(engine: Engine, server: FeedServer) -> None:
    server.route("/api/query", Answer(ARXIV_ERROR))
    with pytest.raises(UnknownPaper) as refused:
        submit(engine, server, "1501.99999", member(engine, "ada"))
    assert "incorrect id format" in str(refused.value)


def test_a_withdrawn_paper_is_refused_and_nothing_is_stored(engine: Engine, server: FeedServer) -> None:
    entry = recorded_entries()[0].replace(
        "</summary>",
        '</summary>\n    <arxiv:comment xmlns:arxiv="http://arxiv.org/schemas/atom">This paper has been withdrawn '
        "by the author due to a crucial error</arxiv:comment>",
    )
    server.route("/api/query", Answer(atom_page(0, 1, entries=[entry])))
    with pytest.raises(PaperWithdrawn):
        submit(engine, server, "1501.05039", member(engine, "ada"))
    with engine.connect() as conn:
        assert count_papers(conn) == 0


def test_the_arxiv_api_being_down_stores_nothing(engine: Engine, server: FeedServer) -> None:
    server.route("/api/query", Answer(b"Service Unavailable", status=503, content_type="text/plain"))
    with pytest.raises(ArxivUnavailable) as refused:
        submit(engine, server, "1501.05039", member(engine, "ada"))
    assert "nothing was stored" in str(refused.value)
    with engine.connect() as conn:
        assert count_papers(conn) == 0
    assert count(engine, submissions) == 0 and count(engine, votes) == 0


def test_a_member_may_submit_only_so_many_papers_a_day(engine: Engine, server: FeedServer) -> None:
    server.route("/api/query", by_id)
    ada = member(engine, "ada")
    strict = SubmissionPolicy(max_age_days=10_000, per_member_per_day=1)
    submit(engine, server, "1501.05039", ada, strict)
    with pytest.raises(RateLimited):
        submit(engine, server, "quant-ph/0210005", ada, strict)
    with engine.connect() as conn:
        stored = get_paper_by_arxiv_id(conn, "quant-ph/0210005")
    assert stored is None or stored.paper.listed_on is None
    assert count(engine, submissions) == 1


def test_a_suspended_member_or_one_without_a_handle_cannot_submit(engine: Engine, server: FeedServer) -> None:
    server.route("/api/query", by_id)
    ada, anonymous = member(engine, "ada"), member(engine, "anon", handle=False)
    with begin_write(engine) as conn:
        write_suspension(conn, ada.id, reason="spam", now=NOW)
    with pytest.raises(Suspended):
        submit(engine, server, "1501.05039", ada)
    with pytest.raises(ProfileRequired):
        submit(engine, server, "1501.05039", anonymous)
    assert server.requests == []


def test_a_moderator_removes_a_submission_and_the_earlier_listing_and_the_upvote_go_back(
    engine: Engine, server: FeedServer
) -> None:
    with begin_write(engine) as conn:
        upsert_papers(
            conn,
            [
                Paper(
                    "1501.05039",
                    "Defining Data Science",
                    "x",
                    published=dt.date(2015, 1, 21),
                    listed_on=dt.date(2015, 1, 22),
                )
            ],
            NOW,
        )
    ada, moderator = member(engine, "ada"), member(engine, "mod")
    with begin_write(engine) as conn:
        write_role(conn, moderator.id, Role.MODERATOR)
    outcome = submit(engine, server, "1501.05039", ada)
    assert outcome.submission is not None
    moderation = Moderation(engine, lambda: NOW)
    assert moderation.remove_submission(moderator.id, outcome.submission.id) is True
    assert moderation.remove_submission(moderator.id, outcome.submission.id) is False
    with engine.connect() as conn:
        paper = get_paper_by_arxiv_id(conn, "1501.05039")
        assert list_active_submissions(conn, [outcome.paper.id]) == {}
    assert paper is not None and paper.paper.listed_on == dt.date(2015, 1, 22) and paper.community_upvotes == 0
