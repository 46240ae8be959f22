"""Planning stores one selection per distinct content, not per key (issue 13).

Different keys (topics, size, first new date, papers already sent) often choose the very same
papers with the same reasons: those digests share one selection, so its items are written once.
"""

from __future__ import annotations

import datetime as dt

from papertide.digest.plan import SelectionCache, TopicCache
from papertide.digest.select import Candidate, CandidatePool
from papertide.domain.subscribers import Topics

DAY = dt.date(2026, 8, 20)


def cache() -> SelectionCache:
    pool = CandidatePool(
        [
            Candidate(1, DAY, upvotes=50, score=10.0, categories=("cs.LG",)),
            Candidate(2, DAY, upvotes=30, score=5.0, categories=("cs.CV",)),
            Candidate(3, DAY - dt.timedelta(days=3), upvotes=10, score=2.0, categories=("cs.LG",)),
        ]
    )
    return SelectionCache(pool, TopicCache(None, 10, [1, 2, 3]))


def test_two_keys_that_choose_the_same_papers_and_reasons_share_one_selection() -> None:
    selections = cache()
    # Size 5 and size 10 among two new papers: the same two, for the same reasons.
    small = selections.select(Topics(), 5, DAY, set())
    large = selections.select(Topics(), 10, DAY, set())
    assert [item.paper_id for item in small.items] == [1, 2]
    assert large is small
    # Asked again, a key gets the selection it got before.
    assert selections.select(Topics(), 10, DAY, set()) is small


def test_keys_that_choose_different_papers_or_reasons_keep_their_own_selections() -> None:
    selections = cache()
    recent = selections.select(Topics(), 10, DAY, set())
    longer = selections.select(Topics(), 10, DAY - dt.timedelta(days=5), set())
    followed = selections.select(Topics(categories=("cs.LG",)), 10, DAY, set())
    assert [item.paper_id for item in longer.items] == [1, 2, 3]
    assert len({id(recent), id(longer), id(followed)}) == 3
    assert [item.reason for item in followed.items] != [item.reason for item in recent.items]
