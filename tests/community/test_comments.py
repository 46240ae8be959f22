"""Discussion: posting, one level of replies, editing, deleting, upvotes, reports and the abuse cases."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import Engine, func, select

from papertide.community.comments import Discussion
from papertide.community.moderation import Moderation
from papertide.community.policy import CommunityPolicy
from papertide.domain.accounts import Role
from papertide.domain.comments import CommentState
from papertide.domain.errors import Forbidden, InvalidInput, NotFound, ProfileRequired, RateLimited, Suspended
from papertide.store.engine import begin_write
from papertide.store.members import write_suspension
from papertide.store.schema import comments, rate_events
from tests.community.community_data import ESTABLISHED, NOW, Clock, MakeMember


@pytest.fixture
def discussion(engine: Engine, clock: Clock) -> Discussion:
    return Discussion(engine, CommunityPolicy(comments_per_window=5), clock)


def count_rows(engine: Engine, table: object) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def test_a_comment_and_a_reply_form_one_thread(
    discussion: Discussion, make_member: MakeMember, papers: dict[str, int]
) -> None:
    ada, bob = make_member("ada"), make_member("bob")
    paper = papers["2611.00001"]
    first = discussion.post(ada.id, paper, "Is the *engine* real?")
    reply = discussion.post(bob.id, paper, "Not **yet**.", parent_id=first.id)
    threads = discussion.read_threads(paper)
    assert [(t.comment.id, [r.id for r in t.replies]) for t in threads] == [(first.id, [reply.id])]
    assert first.author_handle == "ada" and first.author_name == "Ada"
    assert BeautifulSoup(reply.body_html, "html.parser").find("strong").text == "yet"
    assert discussion.count([paper])[paper].own == 2


def test_a_reply_to_a_reply_is_refused(discussion: Discussion, make_member: MakeMember, papers: dict[str, int]) -> None:
    ada = make_member("ada")
    paper = papers["2611.00001"]
    first = discussion.post(ada.id, paper, "top")
    reply = discussion.post(ada.id, paper, "reply", parent_id=first.id)
    with pytest.raises(InvalidInput) as refused:
        discussion.post(ada.id, paper, "deeper", parent_id=reply.id)
    assert refused.value.field == "parent_id" and "one level" in refused.value.reason


def test_a_reply_to_a_comment_of_another_paper_is_refused(
    discussion: Discussion, make_member: MakeMember, papers: dict[str, int]
) -> None:
    ada = make_member("ada")
    elsewhere = discussion.post(ada.id, papers["2611.00002"], "there")
    with pytest.raises(NotFound):
        discussion.post(ada.id, papers["2611.00001"], "here", parent_id=elsewhere.id)


def test_comments_on_an_unknown_paper_and_empty_comments_are_refused(
    discussion: Discussion, make_member: MakeMember, papers: dict[str, int]
) -> None:
    ada = make_member("ada")
    with pytest.raises(NotFound):
        discussion.post(ada.id, 999_999, "hello")
    with pytest.raises(InvalidInput):
        discussion.post(ada.id, papers["2611.00001"], "   \n ")
    with pytest.raises(InvalidInput):
        discussion.post(ada.id, papers["2611.00001"], "bad \x00 byte")


def test_an_edited_comment_keeps_when_it_was_edited(
    discussion: Discussion, make_member: MakeMember, papers: dict[str, int], clock: Clock
) -> None:
    ada = make_member("ada")
    posted = discussion.post(ada.id, papers["2611.00001"], "teh engine")
    assert not posted.is_edited
    clock.advance(minutes=3)
    edited = discussion.edit(ada.id, posted.id, "the engine")
    assert edited.body == "the engine" and edited.edited_at == clock.now and edited.created_at == NOW


def test_editing_or_deleting_another_members_comment_is_forbidden(
    discussion: Discussion, make_member: MakeMember, papers: dict[str, int]
) -> None:
    ada, mallory = make_member("ada"), make_member("mallory")
    posted = discussion.post(ada.id, papers["2611.00001"], "mine")
    with pytest.raises(Forbidden):
        discussion.edit(mallory.id, posted.id, "defaced")
    with pytest.raises(Forbidden):
        discussion.delete(mallory.id, posted.id)
    assert discussion.get(posted.id).body == "mine"


def test_deleting_a_comment_erases_its_text_but_keeps_the_replies_in_place(
    discussion: Discussion, make_member: MakeMember, papers: dict[str, int]
) -> None:
    ada, bob = make_member("ada"), make_member("bob")
    paper = papers["2611.00001"]
    first = discussion.post(ada.id, paper, "question")
    discussion.post(bob.id, paper, "answer", parent_id=first.id)
    deleted = discussion.delete(ada.id, first.id)
    assert deleted.state is CommentState.DELETED and deleted.body == ""
    assert discussion.delete(ada.id, first.id).state is CommentState.DELETED  # idempotent
    [thread] = discussion.read_threads(paper)
    assert thread.comment.state is CommentState.DELETED and [r.body for r in thread.replies] == ["answer"]
    with pytest.raises(Forbidden):
        discussion.edit(ada.id, first.id, "resurrected")
    assert discussion.count([paper])[paper].own == 1


def test_a_deleted_comment_without_replies_disappears_from_the_page(
    discussion: Discussion, make_member: MakeMember, papers: dict[str, int]
) -> None:
    ada = make_member("ada")
    posted = discussion.post(ada.id, papers["2611.00001"], "oops")
    discussion.delete(ada.id, posted.id)
    assert discussion.read_threads(papers["2611.00001"]) == []


def test_a_suspended_member_can_read_but_not_write(
    engine: Engine, discussion: Discussion, make_member: MakeMember, papers: dict[str, int]
) -> None:
    ada, bob = make_member("ada"), make_member("bob")
    paper = papers["2611.00001"]
    posted = discussion.post(ada.id, paper, "before")
    other = discussion.post(bob.id, paper, "bob's")
    with begin_write(engine) as conn:
        write_suspension(conn, ada.id, reason="spam", now=NOW)
    for attempt in (
        lambda: discussion.post(ada.id, paper, "after"),
        lambda: discussion.edit(ada.id, posted.id, "changed"),
        lambda: discussion.delete(ada.id, posted.id),
        lambda: discussion.react(ada.id, other.id),
        lambda: discussion.report(ada.id, other.id, "because"),
    ):
        with pytest.raises(Suspended) as refused:
            attempt()
        assert "suspended (spam)" in str(refused.value) or "suspended" in str(refused.value)
    assert [t.comment.body for t in discussion.read_threads(paper, ada.id)] == ["before", "bob's"]
    assert count_rows(engine, comments) == 2


def test_a_member_without_a_handle_must_choose_one_before_posting(
    discussion: Discussion, make_member: MakeMember, papers: dict[str, int]
) -> None:
    anonymous = make_member("anon", handle=None)
    with pytest.raises(ProfileRequired):
        discussion.post(anonymous.id, papers["2611.00001"], "hello")


def test_the_comment_rate_limit_refuses_and_records_nothing_then_lets_through_after_the_window(
    engine: Engine, discussion: Discussion, make_member: MakeMember, papers: dict[str, int], clock: Clock
) -> None:
    ada = make_member("ada")
    paper = papers["2611.00001"]
    for n in range(5):
        discussion.post(ada.id, paper, f"comment {n}")
    with pytest.raises(RateLimited) as refused:
        discussion.post(ada.id, paper, "one too many")
    assert refused.value.retry_after_seconds == 600 and "at most 5" in str(refused.value)
    assert count_rows(engine, comments) == 5 and count_rows(engine, rate_events) == 5
    clock.advance(minutes=10, seconds=1)
    discussion.post(ada.id, paper, "later")
    assert count_rows(engine, comments) == 6


def test_a_new_member_may_post_only_a_few_links_and_an_established_one_more(
    discussion: Discussion, make_member: MakeMember, papers: dict[str, int]
) -> None:
    newcomer = make_member("newcomer")
    paper = papers["2611.00001"]
    spam = "buy https://a.example https://b.example [c](https://c.example)"
    with pytest.raises(InvalidInput) as refused:
        discussion.post(newcomer.id, paper, spam)
    assert "at most 2 links" in refused.value.reason and "this one has 3" in refused.value.reason
    discussion.post(newcomer.id, paper, "two links are fine: https://a.example https://b.example")
    veteran = make_member("veteran", joined=ESTABLISHED)
    for n in range(3):
        discussion.post(veteran.id, paper, f"thoughtful comment {n}")
    assert discussion.post(veteran.id, paper, spam).body == spam


def test_an_old_account_with_no_accepted_comments_still_counts_as_new(
    discussion: Discussion, make_member: MakeMember, papers: dict[str, int]
) -> None:
    lurker = make_member("lurker", joined=ESTABLISHED)
    with pytest.raises(InvalidInput):
        discussion.post(lurker.id, papers["2611.00001"], "https://a.example https://b.example https://c.example")


def test_editing_in_too_many_links_is_refused_like_posting_them(
    discussion: Discussion, make_member: MakeMember, papers: dict[str, int]
) -> None:
    newcomer = make_member("newcomer")
    posted = discussion.post(newcomer.id, papers["2611.00001"], "innocent")
    with pytest.raises(InvalidInput):
        discussion.edit(newcomer.id, posted.id, "https://a.example https://b.example https://c.example")
    assert discussion.get(posted.id).body == "innocent"


def test_xss_in_a_comment_is_stored_as_written_and_rendered_inert(
    discussion: Discussion, make_member: MakeMember, papers: dict[str, int]
) -> None:
    ada = make_member("ada")
    body = "<script>alert(1)</script> <img src=x onerror=alert(1)> [x](javascript:alert(1)) [d](data:text/html,hi)"
    posted = discussion.post(ada.id, papers["2611.00001"], body)
    assert discussion.get(posted.id).body == body
    html = BeautifulSoup(posted.body_html, "html.parser")
    assert html.find(["script", "img", "a"]) is None


def test_one_upvote_per_member_per_comment_and_none_on_ones_own(
    discussion: Discussion, make_member: MakeMember, papers: dict[str, int]
) -> None:
    ada, bob = make_member("ada"), make_member("bob")
    posted = discussion.post(ada.id, papers["2611.00001"], "upvote me")
    assert discussion.react(bob.id, posted.id).upvotes == 1
    again = discussion.react(bob.id, posted.id)
    assert (again.changed, again.upvotes) == (False, 1)
    assert discussion.read_upvoted(bob.id, [posted.id]) == {posted.id}
    with pytest.raises(Forbidden):
        discussion.react(ada.id, posted.id)
    taken_back = discussion.react(bob.id, posted.id, wanted=False)
    assert (taken_back.changed, taken_back.upvotes) == (True, 0)


def test_reports_reach_the_moderators_queue_and_hiding_resolves_them(
    engine: Engine, discussion: Discussion, make_member: MakeMember, papers: dict[str, int], clock: Clock
) -> None:
    ada, bob, cat = make_member("ada"), make_member("bob"), make_member("cat")
    moderator = make_member("mod", handle="the-mod", role=Role.MODERATOR)
    paper = papers["2611.00001"]
    rude = discussion.post(ada.id, paper, "rude words")
    assert discussion.report(bob.id, rude.id, "insulting") is True
    assert discussion.report(bob.id, rude.id, "still insulting") is False
    discussion.report(cat.id, rude.id, "spam")
    with pytest.raises(Forbidden):
        discussion.report(ada.id, rude.id, "myself")
    moderation = Moderation(engine, clock)
    with pytest.raises(Forbidden):
        moderation.read_queue(bob.id)
    [entry] = moderation.read_queue(moderator.id)
    assert entry.comment.id == rude.id and [r.reason for r in entry.reports] == ["insulting", "spam"]
    assert entry.paper_arxiv_id == "2611.00001"
    hidden = moderation.hide_comment(moderator.id, rude.id)
    assert hidden.state is CommentState.HIDDEN and hidden.body == "rude words" and hidden.hidden_by == moderator.id
    assert moderation.read_queue(moderator.id) == [] and moderation.count_open(moderator.id) == 0
    assert discussion.read_threads(paper, bob.id) == []
    [own_view] = discussion.read_threads(paper, ada.id)
    assert own_view.comment.body == "rude words" and own_view.comment.state is CommentState.HIDDEN
    [moderator_view] = discussion.read_threads(paper, moderator.id)
    assert moderator_view.comment.body == "rude words"
    assert moderation.unhide_comment(moderator.id, rude.id).state is CommentState.VISIBLE


def test_a_moderator_deletes_a_comment_and_suspends_its_author(
    engine: Engine, discussion: Discussion, make_member: MakeMember, papers: dict[str, int], clock: Clock
) -> None:
    spammer, bob = make_member("spammer"), make_member("bob")
    moderator = make_member("mod", handle="the-mod", role=Role.MODERATOR)
    admin = make_member("boss", role=Role.ADMIN)
    posted = discussion.post(spammer.id, papers["2611.00001"], "spam")
    discussion.report(bob.id, posted.id, "spam")
    moderation = Moderation(engine, clock)
    assert moderation.delete_comment(moderator.id, posted.id).state is CommentState.DELETED
    assert moderation.suspend_member(moderator.id, spammer.id, "posting spam") is True
    assert moderation.suspend_member(moderator.id, spammer.id) is False
    with pytest.raises(Suspended):
        discussion.post(spammer.id, papers["2611.00001"], "more spam")
    with pytest.raises(Forbidden):
        moderation.suspend_member(moderator.id, admin.id)
    with pytest.raises(Forbidden):
        moderation.suspend_member(moderator.id, moderator.id)
    with pytest.raises(Forbidden):
        moderation.suspend_member(bob.id, spammer.id)
    assert moderation.unsuspend_member(moderator.id, spammer.id) is True
    discussion.post(spammer.id, papers["2611.00001"], "sorry")


def test_hugging_faces_comment_count_is_kept_apart_from_papertides(
    engine: Engine, discussion: Discussion, make_member: MakeMember, papers: dict[str, int]
) -> None:
    import datetime as dt

    from papertide.store.harvest import Signal, write_signals

    with begin_write(engine) as conn:
        write_signals(conn, [Signal("2611.00002", "hf-daily", dt.date(2026, 11, 25), upvotes=3, comments=7)], NOW)
    discussion.post(make_member("ada").id, papers["2611.00002"], "ours")
    counts = discussion.count([papers["2611.00001"], papers["2611.00002"]])
    assert papers["2611.00001"] not in counts
    assert (counts[papers["2611.00002"]].own, counts[papers["2611.00002"]].hugging_face) == (1, 7)


def test_dismissing_reports_keeps_the_comment_and_empties_the_queue(
    engine: Engine, discussion: Discussion, make_member: MakeMember, papers: dict[str, int], clock: Clock
) -> None:
    ada, bob = make_member("ada"), make_member("bob")
    moderator = make_member("mod", handle="the-mod", role=Role.MODERATOR)
    posted = discussion.post(ada.id, papers["2611.00001"], "harmless")
    discussion.report(bob.id, posted.id, "I disagree")
    moderation = Moderation(engine, clock)
    kept = moderation.dismiss_reports(moderator.id, posted.id)
    assert kept.state is CommentState.VISIBLE and kept.body == "harmless"
    assert moderation.count_open(moderator.id) == 0
    assert discussion.report(bob.id, posted.id, "again") is False
