"""select_items, rewritten for speed (issue 13), chooses exactly what its plain statement below chooses.

``reference_select_items`` is select_items as it was before: one closure call per match, the
strength and the normalised score through generator and method calls. Random pools, topics,
dates, papers already sent and topic hits must give equal selections: ids, order, reasons and
scores, bit for bit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Container, Iterable, Mapping, Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from papertide.digest.select import (
    AUTHOR_STRENGTH,
    CATEGORY_STRENGTH,
    EXTRA_MATCH_BONUS,
    TOPIC_WEIGHT,
    Candidate,
    CandidatePool,
    Selection,
    _trending_reason,
    select_items,
    topic_key,
)
from papertide.domain.subscribers import Topics

DAY = dt.date(2026, 8, 20)
CATEGORIES = ["cs.LG", "cs.CV", "math.DS", "q-bio.NC"]
AUTHORS = ["Grace Hopper", "Alan Turing", "Émile Borel", "E. Borel", "Ada Lovelace", "A. Lovelace"]
PHRASES = ["neural networks", "Neural  Networks", "dynamics", "graph learning"]


def reference_select_items(
    pool: CandidatePool,
    *,
    topics: Topics,
    size: int,
    since: dt.date,
    sent: Container[int],
    topic_matches: Mapping[str, Sequence[int]],
) -> list[Selection]:
    """select_items as first written (the statement the fast version must equal)."""
    if topics.is_empty():
        return [
            Selection(pool.ranked[i].paper_id, _trending_reason(pool.ranked[i]), pool.normalised(i))
            for i in pool.first_eligible("*", pool.everything, size, since, sent)
        ]
    matches: dict[int, list[tuple[float, str]]] = {}

    def add(indexes: Iterable[int], strength: float, reason: str) -> None:
        for index in indexes:
            matches.setdefault(index, []).append((strength, reason))

    for category in topics.categories:
        listed = pool.by_category.get(category.casefold(), [])
        eligible = pool.first_eligible("c:" + category.casefold(), listed, size, since, sent)
        add(eligible, CATEGORY_STRENGTH, f"in {category}, which you follow")
    for author in topics.authors:
        listed = pool.by_followed_author(author)
        eligible = pool.first_eligible("a:" + author, listed, size, since, sent)
        add(eligible, AUTHOR_STRENGTH, f"by {author}, whom you follow")
    for phrase in topics.phrases:
        key = topic_key(phrase)
        order, strengths = pool.topic_hits(key, topic_matches.get(key, ()))
        for index in pool.first_eligible("t:" + key, order, size, since, sent):
            add((index,), strengths[index], f"matches your topic '{phrase}'")
    plain = pool.first_eligible("*", pool.everything, size, since, sent)
    scored: list[tuple[float, int]] = []
    for index in set(plain) | set(matches):
        found = matches.get(index)
        strength = max(m[0] for m in found) + EXTRA_MATCH_BONUS * (len(found) - 1) if found else 0.0
        scored.append((pool.normalised(index) + TOPIC_WEIGHT * strength, index))
    scored.sort(key=lambda row: (-row[0], row[1]))
    chosen: list[Selection] = []
    for score, index in scored[:size]:
        found = sorted(matches.get(index, []), key=lambda match: -match[0])
        reason = "; ".join(dict.fromkeys(r for _, r in found[:2])) or _trending_reason(pool.ranked[index])
        chosen.append(Selection(pool.ranked[index].paper_id, reason, score))
    return chosen


candidates = st.lists(
    st.builds(
        Candidate,
        paper_id=st.integers(1, 60),
        listed_on=st.integers(0, 6).map(lambda days: DAY - dt.timedelta(days=days)),
        upvotes=st.integers(0, 5),
        # Few distinct scores: ties between papers and between summed strengths are common.
        score=st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.5]),
        categories=st.lists(st.sampled_from(CATEGORIES), max_size=2).map(tuple),
        authors=st.lists(st.sampled_from(AUTHORS), max_size=2).map(tuple),
    ),
    max_size=40,
    unique_by=lambda candidate: candidate.paper_id,
)
followed = st.builds(
    Topics,
    categories=st.lists(st.sampled_from(CATEGORIES), max_size=2, unique=True).map(tuple),
    authors=st.lists(st.sampled_from(AUTHORS), max_size=2, unique=True).map(tuple),
    phrases=st.lists(st.sampled_from(PHRASES), max_size=3, unique=True).map(tuple),
)
hits = st.dictionaries(
    st.sampled_from([topic_key(phrase) for phrase in PHRASES]), st.lists(st.integers(1, 70), max_size=25), max_size=4
)


@settings(max_examples=300, deadline=None)
@given(
    candidates,
    st.lists(followed, min_size=1, max_size=4),
    st.integers(1, 12),
    st.integers(0, 7),
    st.sets(st.integers(1, 60), max_size=15),
    hits,
)
def test_the_fast_selection_equals_the_plain_statement_ids_order_reasons_and_scores(
    pool_candidates: list[Candidate],
    subscribers: list[Topics],
    size: int,
    days: int,
    sent: set[int],
    topic_matches: dict[str, list[int]],
) -> None:
    # Two pools of the same papers: each memoises its own lists, as a run's pool does across subscribers.
    fast, plain = CandidatePool(pool_candidates), CandidatePool(pool_candidates)
    since = DAY - dt.timedelta(days=days)
    for topics in subscribers:
        arguments = {"topics": topics, "size": size, "since": since, "sent": sent, "topic_matches": topic_matches}
        assert select_items(fast, **arguments) == reference_select_items(plain, **arguments)  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(candidates, followed, st.integers(1, 12), st.integers(0, 7), st.sets(st.integers(1, 70), max_size=30), hits)
def test_papers_sent_that_were_listed_before_the_window_never_change_a_selection(
    pool_candidates: list[Candidate],
    topics: Topics,
    size: int,
    days: int,
    sent: set[int],
    topic_matches: dict[str, list[int]],
) -> None:
    pool = CandidatePool(pool_candidates)
    since = DAY - dt.timedelta(days=days)
    seen = pool.sent_since(sent, since)
    assert seen <= sent
    assert all(pool.ranked[pool.position[paper_id]].listed_on >= since for paper_id in seen)
    arguments = {"topics": topics, "size": size, "since": since, "topic_matches": topic_matches}
    full = reference_select_items(CandidatePool(pool_candidates), sent=sent, **arguments)  # type: ignore[arg-type]
    assert select_items(pool, sent=seen, **arguments) == full  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(candidates, st.integers(1, 12), st.integers(0, 7), st.sets(st.integers(1, 60), max_size=15))
def test_the_first_eligible_papers_are_those_listed_since_the_date_and_not_sent_whether_or_not_anything_was_sent(
    pool_candidates: list[Candidate], take: int, days: int, sent: set[int]
) -> None:
    pool = CandidatePool(pool_candidates)
    since = DAY - dt.timedelta(days=days)
    for held in (frozenset(sent), frozenset(), set()):
        expected = [
            index
            for index in pool.everything
            if pool.ranked[index].listed_on >= since and pool.ranked[index].paper_id not in held
        ][:take]
        assert pool.first_eligible("*", pool.everything, take, since, held) == expected
        # The memoised date filter and the copy handed out stay untouched by the caller's use of it.
        pool.first_eligible("*", pool.everything, take, since, held).clear()
        assert pool.first_eligible("*", pool.everything, take, since, held) == expected
    assert pool.normal == [pool.normalised(index) for index in pool.everything]
