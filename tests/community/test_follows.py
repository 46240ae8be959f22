"""Author pages, following authors, and followed authors reaching the member's digest."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, select

from papertide.community.follows import Follows
from papertide.community.policy import CommunityPolicy
from papertide.digest.plan import run_planning
from papertide.digest.policy import DigestPolicy
from papertide.domain.errors import InvalidInput, NotFound, Suspended
from papertide.domain.models import Paper
from papertide.store.authorship import catch_up_authorship, list_author_paper_ids
from papertide.store.engine import begin_write
from papertide.store.members import write_suspension
from papertide.store.papers import get_paper_by_arxiv_id, upsert_papers
from papertide.store.subscribers import Preferences, get_subscriber_by_email, insert_subscriber
from tests.community.community_data import NOW, Clock, MakeMember
from tests.digest.digest_data import digest_items_query


@pytest.fixture
def follows(engine: Engine, clock: Clock) -> Follows:
    return Follows(engine, CommunityPolicy(follows_per_member=2), clock)


def test_an_author_page_gathers_the_variants_of_a_name_and_reports_a_collision(
    follows: Follows, papers: dict[str, int]
) -> None:
    page = follows.read_author("lovelace_a")
    assert [p.paper.arxiv_id for p in page.papers] == ["2611.00003", "2611.00002", "2611.00001"]  # newest first
    assert page.total == 3
    assert page.names.is_ambiguous and set(page.names.people) == {"Ada Lovelace", "Alan Lovelace"}
    assert "2 different names share this page" in page.names.describe()
    assert {c.author_key: c.papers for c in page.coauthors} == {"babbage_c": 1, "menabrea_l": 1}
    with pytest.raises(NotFound):
        follows.read_author("nobody_x")


def test_a_changed_author_list_moves_the_paper_between_author_pages(engine: Engine, papers: dict[str, int]) -> None:
    with begin_write(engine) as conn:
        upsert_papers(
            conn,
            [
                Paper(
                    arxiv_id="2611.00003", title="Another Lovelace", abstract="x", authors=("Grace Hopper",), version=2
                )
            ],
            NOW,
        )
    assert catch_up_authorship(engine) == 1
    assert catch_up_authorship(engine) == 0
    with engine.connect() as conn:
        assert papers["2611.00003"] not in list_author_paper_ids(conn, "lovelace_a", limit=10)
        assert list_author_paper_ids(conn, "hopper_g", limit=10) == [papers["2611.00003"]]


def test_following_is_idempotent_limited_and_undone_by_unfollowing(
    follows: Follows, make_member: MakeMember, papers: dict[str, int]
) -> None:
    ada = make_member("ada")
    followed = follows.follow(ada.id, "babbage_c")
    assert followed.display_name == "Charles Babbage"
    follows.follow(ada.id, "babbage_c")
    follows.follow(ada.id, "hopper_g", name="Grace Hopper")  # no paper here yet: followed by name
    assert [f.author_key for f in follows.list_followed(ada.id)] == ["babbage_c", "hopper_g"]
    with pytest.raises(InvalidInput):
        follows.follow(ada.id, "menabrea_l")
    with pytest.raises(InvalidInput):
        follows.follow(ada.id, "turing_a", name="Grace Hopper")
    assert follows.unfollow(ada.id, "hopper_g") is True and follows.unfollow(ada.id, "hopper_g") is False
    assert follows.is_following(ada.id, "babbage_c") and not follows.is_following(ada.id, "hopper_g")
    assert follows.read_author("babbage_c").followers == 1


def test_a_suspended_member_cannot_follow(
    engine: Engine, follows: Follows, make_member: MakeMember, papers: dict[str, int]
) -> None:
    ada = make_member("ada")
    with begin_write(engine) as conn:
        write_suspension(conn, ada.id, reason="", now=NOW)
    with pytest.raises(Suspended):
        follows.follow(ada.id, "babbage_c")


def _paper(number: int, authors: tuple[str, ...], upvotes: int) -> Paper:
    return Paper(
        arxiv_id=f"2611.{number:05d}",
        title=f"Paper {number}",
        abstract="Abstract.",
        authors=authors,
        published=dt.date(2026, 11, 27),
        listed_on=dt.date(2026, 11, 28),
        external_upvotes=upvotes,
    )


def test_the_digest_of_a_subscribed_member_includes_a_followed_authors_new_paper(
    engine: Engine, follows: Follows, make_member: MakeMember
) -> None:
    popular = [_paper(n, (f"Someone Else{n}",), upvotes=50 + n) for n in range(10, 18)]
    quiet = _paper(20, ("Grace Hopper",), upvotes=0)
    with begin_write(engine) as conn:
        upsert_papers(conn, [*popular, quiet], NOW)
        for email in ("ada@example.org", "bob@example.org"):
            insert_subscriber(conn, email, Preferences(size=5), status="confirmed", now=NOW - dt.timedelta(days=3))
    catch_up_authorship(engine)
    make_member("bob")
    ada = make_member("ada")
    follows.follow(ada.id, "hopper_g")
    run_planning(engine, now=NOW, policy=DigestPolicy(), message_id=lambda key, sid: f"<{key}.{sid}@test>")
    with engine.connect() as conn:
        quiet_id = get_paper_by_arxiv_id(conn, quiet.arxiv_id).id  # type: ignore[union-attr]
        items = digest_items_query().subquery()
        rows = conn.execute(select(items.c.subscriber_id, items.c.paper_id, items.c.reason)).all()
    by_subscriber: dict[int, dict[int, str]] = {}
    for subscriber_id, paper_id, reason in rows:
        by_subscriber.setdefault(subscriber_id, {})[paper_id] = reason
    with engine.connect() as conn:
        ada_subscriber = get_subscriber_by_email(conn, "ada@example.org")
        bob_subscriber = get_subscriber_by_email(conn, "bob@example.org")
    assert ada_subscriber is not None and bob_subscriber is not None
    ada_items, bob_items = by_subscriber[ada_subscriber.id], by_subscriber[bob_subscriber.id]
    assert ada_items[quiet_id] == "by Grace Hopper, whom you follow"
    assert quiet_id not in bob_items
