"""Collections: create, rename, describe, publish, add, remove, reorder, notes; owners only; private stays private."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from papertide.community.collections import Collections
from papertide.community.policy import CommunityPolicy
from papertide.domain.errors import Forbidden, InvalidInput, NotFound, RateLimited, Suspended
from papertide.store.engine import begin_write
from papertide.store.members import write_suspension
from tests.community.community_data import NOW, Clock, MakeMember


@pytest.fixture
def collections(engine: Engine, clock: Clock) -> Collections:
    return Collections(engine, CommunityPolicy(collection_actions_per_window=30, papers_per_collection=3), clock)


def test_a_collection_is_created_private_with_a_slug_and_can_be_renamed_described_and_published(
    collections: Collections, make_member: MakeMember, clock: Clock
) -> None:
    ada = make_member("ada")
    created = collections.create(ada.id, "  Engines  &  Numbers ")
    assert (created.title, created.slug, created.is_public, created.paper_count) == (
        "Engines & Numbers",
        "engines-numbers",
        False,
        0,
    )
    assert collections.create(ada.id, "Engines & numbers!").slug == "engines-numbers-2"
    clock.advance(minutes=1)
    changed = collections.update(ada.id, created.id, title="Engines", description="Line one\nline two", is_public=True)
    assert (changed.title, changed.slug, changed.description, changed.is_public) == (
        "Engines",
        "engines-numbers",
        "Line one\nline two",
        True,
    )
    assert changed.updated_at == clock.now
    assert collections.read_by_slug("ADA", "engines-numbers").id == created.id


def test_papers_are_added_in_order_reordered_moved_noted_and_removed(
    collections: Collections, make_member: MakeMember, papers: dict[str, int]
) -> None:
    ada = make_member("ada")
    first, second, third = papers["2611.00001"], papers["2611.00002"], papers["2611.00003"]
    collection = collections.create(ada.id, "Reading list")
    for paper in (first, second, third):
        assert collections.add_paper(ada.id, collection.id, paper) is True
    assert collections.add_paper(ada.id, collection.id, first, note="ignored") is False

    def order() -> list[int]:
        return [item.paper.id for item in collections.read_items(collection.id, ada.id)]

    assert order() == [first, second, third]
    collections.reorder(ada.id, collection.id, [third, first, second])
    assert order() == [third, first, second]
    collections.move_paper(ada.id, collection.id, second, 0)
    assert order() == [second, third, first]
    collections.write_note(ada.id, collection.id, third, "Read the *appendix*")
    assert [item.note for item in collections.read_items(collection.id, ada.id)][1] == "Read the *appendix*"
    assert collections.remove_paper(ada.id, collection.id, third) is True
    assert collections.remove_paper(ada.id, collection.id, third) is False
    assert [(i.paper.id, i.position) for i in collections.read_items(collection.id, ada.id)] == [
        (second, 0),
        (first, 1),
    ]
    assert collections.list_holding(ada.id, first) == {collection.id}


def test_a_reorder_must_name_every_paper_once(
    collections: Collections, make_member: MakeMember, papers: dict[str, int]
) -> None:
    ada = make_member("ada")
    collection = collections.create(ada.id, "List")
    collections.add_paper(ada.id, collection.id, papers["2611.00001"])
    collections.add_paper(ada.id, collection.id, papers["2611.00002"])
    for wrong in ([papers["2611.00001"]], [papers["2611.00001"], papers["2611.00001"]], [papers["2611.00003"], 7]):
        with pytest.raises(InvalidInput):
            collections.reorder(ada.id, collection.id, wrong)


def test_a_private_collection_does_not_exist_for_anyone_but_its_owner(
    collections: Collections, make_member: MakeMember, papers: dict[str, int]
) -> None:
    ada, mallory = make_member("ada"), make_member("mallory")
    secret = collections.create(ada.id, "Secret plans")
    collections.add_paper(ada.id, secret.id, papers["2611.00001"])
    for attempt in (
        lambda: collections.read(secret.id, mallory.id),
        lambda: collections.read(secret.id, None),
        lambda: collections.read_items(secret.id, mallory.id),
        lambda: collections.read_by_slug("ada", "secret-plans", mallory.id),
        lambda: collections.add_paper(mallory.id, secret.id, papers["2611.00002"]),
        lambda: collections.update(mallory.id, secret.id, title="mine now"),
    ):
        with pytest.raises(NotFound):
            attempt()
    assert collections.list_for_member(ada.id, mallory.id) == []
    assert [c.id for c in collections.list_for_member(ada.id, ada.id)] == [secret.id]
    assert collections.list_public_with_paper(papers["2611.00001"]) == []


def test_another_member_may_read_a_public_collection_but_not_change_it(
    collections: Collections, make_member: MakeMember, papers: dict[str, int]
) -> None:
    ada, mallory = make_member("ada"), make_member("mallory")
    shared = collections.create(ada.id, "Shared", is_public=True)
    collections.add_paper(ada.id, shared.id, papers["2611.00001"])
    assert collections.read(shared.id, mallory.id).title == "Shared"
    assert [c.id for c in collections.list_public_with_paper(papers["2611.00001"])] == [shared.id]
    assert [c.id for c in collections.list_public()] == [shared.id]
    for attempt in (
        lambda: collections.update(mallory.id, shared.id, title="defaced"),
        lambda: collections.add_paper(mallory.id, shared.id, papers["2611.00002"]),
        lambda: collections.remove_paper(mallory.id, shared.id, papers["2611.00001"]),
        lambda: collections.write_note(mallory.id, shared.id, papers["2611.00001"], "spam"),
        lambda: collections.reorder(mallory.id, shared.id, [papers["2611.00001"]]),
        lambda: collections.delete(mallory.id, shared.id),
    ):
        with pytest.raises(Forbidden):
            attempt()
    assert collections.read(shared.id).paper_count == 1


def test_xss_in_a_title_description_or_note_is_stored_as_plain_text(
    collections: Collections, make_member: MakeMember, papers: dict[str, int]
) -> None:
    ada = make_member("ada")
    title = '<script>alert(1)</script><img src=x onerror="alert(2)">'
    created = collections.create(ada.id, title, description="<b>bold</b> [x](javascript:alert(3))")
    collections.add_paper(ada.id, created.id, papers["2611.00001"], note="<iframe src=//evil>")
    stored = collections.read(created.id, ada.id)
    assert stored.title == title and stored.description == "<b>bold</b> [x](javascript:alert(3))"
    assert stored.slug == "script-alert-1-script-img-src-x-onerror-alert-2"
    assert collections.read_items(created.id, ada.id)[0].note == "<iframe src=//evil>"


def test_bad_titles_and_notes_are_refused_with_the_field_named(
    collections: Collections, make_member: MakeMember, papers: dict[str, int]
) -> None:
    ada = make_member("ada")
    for title in ("", "   ", "two\nlines", "x" * 201, "right\u202eleft"):
        with pytest.raises(InvalidInput) as refused:
            collections.create(ada.id, title)
        assert refused.value.field == "title"
    created = collections.create(ada.id, "Fine")
    with pytest.raises(InvalidInput) as refused:
        collections.add_paper(ada.id, created.id, papers["2611.00001"], note="n" * 1001)
    assert refused.value.field == "note"
    with pytest.raises(NotFound):
        collections.add_paper(ada.id, created.id, 999_999)


def test_a_collection_holds_at_most_the_configured_number_of_papers(
    engine: Engine, collections: Collections, make_member: MakeMember, papers: dict[str, int]
) -> None:
    from papertide.domain.models import Paper
    from papertide.store.papers import upsert_papers

    with begin_write(engine) as conn:
        upsert_papers(conn, [Paper(arxiv_id="2611.00004", title="Four", abstract="4")], NOW)
    ada = make_member("ada")
    created = collections.create(ada.id, "Small")
    for paper in papers.values():
        collections.add_paper(ada.id, created.id, paper)
    from papertide.store.papers import get_paper_by_arxiv_id

    with engine.connect() as conn:
        fourth = get_paper_by_arxiv_id(conn, "2611.00004")
    assert fourth is not None
    with pytest.raises(InvalidInput):
        collections.add_paper(ada.id, created.id, fourth.id)


def test_collection_changes_are_rate_limited_and_suspended_owners_cannot_change_theirs(
    engine: Engine, make_member: MakeMember, papers: dict[str, int], clock: Clock
) -> None:
    strict = Collections(engine, CommunityPolicy(collection_actions_per_window=2), clock)
    ada = make_member("ada")
    created = strict.create(ada.id, "One")
    strict.update(ada.id, created.id, title="Two")
    with pytest.raises(RateLimited):
        strict.update(ada.id, created.id, title="Three")
    assert strict.read(created.id, ada.id).title == "Two"
    with begin_write(engine) as conn:
        write_suspension(conn, ada.id, reason="", now=NOW)
    clock.advance(hours=1)
    with pytest.raises(Suspended):
        strict.update(ada.id, created.id, title="Four")
    assert strict.read(created.id, ada.id).title == "Two"


def test_deleting_a_collection_keeps_the_papers(
    collections: Collections, make_member: MakeMember, papers: dict[str, int]
) -> None:
    ada = make_member("ada")
    created = collections.create(ada.id, "Temporary", is_public=True)
    collections.add_paper(ada.id, created.id, papers["2611.00001"])
    collections.delete(ada.id, created.id)
    with pytest.raises(NotFound):
        collections.read(created.id, ada.id)
    assert collections.list_public_with_paper(papers["2611.00001"]) == []
