"""Choosing papers: trending first, nothing old or already sent, re-ranked by the topics followed."""

from __future__ import annotations

import datetime as dt

from papertide.digest.select import Candidate, CandidatePool, author_keys, select_items, topic_key
from papertide.domain.subscribers import Topics

DAY = dt.date(2026, 8, 20)


def pool() -> CandidatePool:
    return CandidatePool(
        [
            Candidate(1, DAY, upvotes=50, score=10.0, categories=("cs.LG",), authors=("Grace Hopper",)),
            Candidate(2, DAY, upvotes=30, score=5.0, categories=("cs.CV",), authors=("Alan Turing",)),
            Candidate(3, DAY, upvotes=10, score=2.0, categories=("cs.LG",), authors=("Émile Borel",)),
            Candidate(4, DAY, upvotes=0, score=0.0, categories=("math.DS",), authors=("Ada Lovelace",)),
            Candidate(5, DAY - dt.timedelta(days=3), upvotes=99, score=9.0, categories=("math.DS",)),
            Candidate(6, DAY, upvotes=1, score=0.5, categories=("q-bio.NC",), authors=("A. Lovelace",)),
        ]
    )


def ids(selections: list) -> list[int]:  # type: ignore[type-arg]
    return [selection.paper_id for selection in selections]


def test_without_topics_the_most_trending_new_papers_come_first() -> None:
    chosen = select_items(pool(), topics=Topics(), size=3, since=DAY, sent=set(), topic_matches={})
    assert ids(chosen) == [1, 2, 3]
    assert chosen[0].reason == "trending with 50 upvotes"


def test_papers_listed_before_the_previous_digest_are_left_out() -> None:
    chosen = select_items(pool(), topics=Topics(), size=10, since=DAY, sent=set(), topic_matches={})
    assert 5 not in ids(chosen)
    older = select_items(
        pool(), topics=Topics(), size=10, since=DAY - dt.timedelta(days=5), sent=set(), topic_matches={}
    )
    assert 5 in ids(older)


def test_papers_already_sent_are_never_chosen_again() -> None:
    topics = Topics(categories=("cs.LG",))
    chosen = select_items(pool(), topics=topics, size=10, since=DAY, sent={1, 3}, topic_matches={})
    assert not {1, 3} & set(ids(chosen))


def test_a_followed_category_lifts_an_unvoted_paper_above_more_voted_ones() -> None:
    chosen = select_items(
        pool(), topics=Topics(categories=("math.ds",)), size=3, since=DAY, sent=set(), topic_matches={}
    )
    assert ids(chosen)[:2] == [1, 4]
    assert chosen[1].reason == "in math.ds, which you follow"


def test_a_followed_author_matches_accents_and_initials() -> None:
    topics = Topics(authors=("Ada Lovelace", "Emile Borel"))
    chosen = select_items(pool(), topics=topics, size=6, since=DAY, sent=set(), topic_matches={})
    reasons = {selection.paper_id: selection.reason for selection in chosen}
    assert reasons[4] == "by Ada Lovelace, whom you follow"
    assert reasons[6] == "by Ada Lovelace, whom you follow"
    assert reasons[3] == "by Emile Borel, whom you follow"
    assert author_keys("A. Lovelace") == ("a lovelace", "a lovelace")


def test_free_text_topics_rank_by_search_relevance_and_say_why() -> None:
    topics = Topics(phrases=("Neural ODEs",))
    matches = {topic_key("neural  odes"): [6, 2, 999]}
    chosen = select_items(pool(), topics=topics, size=3, since=DAY, sent=set(), topic_matches=matches)
    # Paper 2 is both trending and relevant; paper 6 has one vote but is the best match; paper 1 only trends.
    assert ids(chosen) == [2, 6, 1]
    assert chosen[1].reason == "matches your topic 'Neural ODEs'"
    assert chosen[2].reason == "trending with 50 upvotes"


def test_several_matches_are_all_named_in_the_reason() -> None:
    topics = Topics(categories=("cs.LG",), authors=("Grace Hopper",))
    chosen = select_items(pool(), topics=topics, size=1, since=DAY, sent=set(), topic_matches={})
    assert chosen[0].paper_id == 1
    assert chosen[0].reason == "by Grace Hopper, whom you follow; in cs.LG, which you follow"


def test_nothing_new_gives_an_empty_selection() -> None:
    assert select_items(pool(), topics=Topics(), size=5, since=DAY, sent={1, 2, 3, 4, 6}, topic_matches={}) == []
    empty = CandidatePool([])
    assert (
        select_items(empty, topics=Topics(categories=("cs.LG",)), size=5, since=DAY, sent=set(), topic_matches={}) == []
    )
