"""Choosing a subscriber's papers: pure, over a pool of candidates ranked once per run.

The pool holds every paper listed within the run's look-back, ranked by trending score.
A subscriber gets the top of it that is new to them (listed since their previous digest,
never sent to them before), re-ranked when they follow topics:

    final = trending / best trending in the pool  +  TOPIC_WEIGHT * match strength

Match strength is 1.0 for a followed author, 0.6 for a followed category, and 1.0 down to
0.5 for a free-text topic by the paper's rank among the topic's search hits; each further
match adds 0.1. A matched paper with no votes thus still outranks most unmatched ones, while
the day's runaway favourite keeps its place.
"""

from __future__ import annotations

import datetime as dt
import heapq
import unicodedata
from collections.abc import Collection, Container, Iterable, Mapping, Sequence, Sized
from dataclasses import dataclass
from functools import lru_cache

from papertide.domain.subscribers import Topics

TOPIC_WEIGHT = 1.0
AUTHOR_STRENGTH = 1.0
CATEGORY_STRENGTH = 0.6
TOPIC_STRENGTH_RANGE = (1.0, 0.5)
EXTRA_MATCH_BONUS = 0.1
_NOTHING: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class Candidate:
    """A paper that may go into digests of this run."""

    paper_id: int
    listed_on: dt.date
    upvotes: int
    score: float
    categories: tuple[str, ...] = ()
    authors: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Selection:
    """A paper chosen for one subscriber and the reason shown beside it."""

    paper_id: int
    reason: str
    score: float


def topic_key(text: str) -> str:
    """The form free-text topics are matched and cached under."""
    return " ".join(text.split()).casefold()


@lru_cache(maxsize=65536)
def author_keys(name: str) -> tuple[str, str]:
    """A name's full key and its initial + last-name key ("" when the name has no letters).

    Accents, case and punctuation are dropped: "Émile Borel" and "emile borel" share the full
    key "emile borel"; "E. Borel" has the full key "e borel", which is the short key of both.
    """
    folded = unicodedata.normalize("NFKD", name)
    letters = "".join(ch if ch.isalnum() else " " for ch in folded if not unicodedata.combining(ch))
    words = letters.casefold().split()
    if not words:
        return ("", "")
    full = " ".join(words)
    return (full, f"{words[0][0]} {words[-1]}" if len(words) > 1 else full)


class CandidatePool:
    """Candidates ranked by trending score, with indexes by category and author."""

    def __init__(self, candidates: Iterable[Candidate]) -> None:
        self.ranked: list[Candidate] = sorted(
            candidates, key=lambda c: (c.score, c.upvotes, c.listed_on, c.paper_id), reverse=True
        )
        self.position: dict[int, int] = {c.paper_id: i for i, c in enumerate(self.ranked)}
        self.by_category: dict[str, list[int]] = {}
        self.by_author: dict[str, list[int]] = {}
        self.by_author_initial: dict[str, list[int]] = {}
        for index, candidate in enumerate(self.ranked):
            for category in {c.casefold() for c in candidate.categories}:
                self.by_category.setdefault(category, []).append(index)
            keys = [author_keys(author) for author in candidate.authors]
            for full in {full for full, _ in keys if full}:
                self.by_author.setdefault(full, []).append(index)
            for short in {short for _, short in keys if short}:
                self.by_author_initial.setdefault(short, []).append(index)
        self.top_score = self.ranked[0].score if self.ranked else 0.0
        # normalised() of every candidate, by pool index: computed once per run instead of once per match.
        self.normal = [self.normalised(index) for index in range(len(self.ranked))]
        self._topics: dict[str, tuple[list[int], dict[int, float]]] = {}
        self._since: dict[tuple[str, dt.date], list[int]] = {}
        self.everything = list(range(len(self.ranked)))

    def __len__(self) -> int:
        return len(self.ranked)

    def listed_since(self, key: str, indexes: Sequence[int], since: dt.date) -> list[int]:
        """``indexes`` (a list of this pool named ``key``) listed on or after ``since``, memoised.

        Subscribers of one run share a handful of ``since`` dates, so each list is filtered by
        date once per date rather than once per subscriber.
        """
        cached = self._since.get((key, since))
        if cached is None:
            cached = self._since[(key, since)] = [i for i in indexes if self.ranked[i].listed_on >= since]
        return cached

    def sent_since(self, sent: Collection[int], since: dt.date) -> frozenset[int]:
        """Those of ``sent`` that a selection from ``since`` can see: pool papers listed on or after it.

        select_items consults ``sent`` only for papers that passed the ``since`` filter, so the
        rest cannot change a selection. Papers sent by earlier digests were mostly listed before
        the previous digest: two readers with different histories then share one selection.
        """
        if not sent:
            return _NOTHING  # a reader's first digest, and every reader of the first run
        position, ranked = self.position, self.ranked
        return frozenset(
            paper_id
            for paper_id in sent
            if (index := position.get(paper_id)) is not None and ranked[index].listed_on >= since
        )

    def first_eligible(
        self, key: str, indexes: Sequence[int], take: int, since: dt.date, sent: Container[int]
    ) -> list[int]:
        """The first ``take`` of ``indexes`` listed on or after ``since`` and not in ``sent``."""
        listed = self.listed_since(key, indexes, since)
        if isinstance(sent, Sized) and not sent:
            return listed[:take]  # nothing sent since ``since``: most keys of a run (CandidatePool.sent_since)
        chosen: list[int] = []
        ranked = self.ranked
        for index in listed:
            if ranked[index].paper_id not in sent:
                chosen.append(index)
                if len(chosen) == take:
                    break
        return chosen

    def by_followed_author(self, name: str) -> list[int]:
        """Papers by a followed name: "Ada Lovelace" finds her and "A. Lovelace"; "A. Lovelace" any A. Lovelace."""
        full, short = author_keys(name)
        if not full:
            return []
        if full == short:
            return self.by_author_initial.get(short, [])
        return sorted(set(self.by_author.get(full, [])) | set(self.by_author.get(short, [])))

    def topic_hits(self, key: str, hits: Sequence[int]) -> tuple[list[int], dict[int, float]]:
        """A topic's search hits that are in the pool, best first, with their match strength (memoised per key)."""
        cached = self._topics.get(key)
        if cached is None:
            high, low = TOPIC_STRENGTH_RANGE
            step = (high - low) / max(len(hits), 1)
            strength: dict[int, float] = {}
            for rank, paper_id in enumerate(hits):
                index = self.position.get(paper_id)
                if index is not None and index not in strength:
                    strength[index] = high - rank * step
            cached = self._topics[key] = (list(strength), strength)
        return cached

    def normalised(self, index: int) -> float:
        """Trending score relative to the best in the pool, 0 to 1."""
        return self.ranked[index].score / self.top_score if self.top_score > 0 else 0.0


def _trending_reason(candidate: Candidate) -> str:
    if candidate.upvotes > 0:
        return f"trending with {candidate.upvotes} upvote{'s' if candidate.upvotes != 1 else ''}"
    return "new since your last digest"


def select_items(
    pool: CandidatePool,
    *,
    topics: Topics,
    size: int,
    since: dt.date,
    sent: Container[int],
    topic_matches: Mapping[str, Sequence[int]],
) -> list[Selection]:
    """Up to ``size`` papers for one subscriber, best first; empty when nothing is new to them.

    :param since: the earliest listing date that counts as new since the previous digest.
    :param sent: ids of papers this subscriber has already been sent.
    :param topic_matches: for each ``topic_key`` of a followed topic, paper ids by relevance.
    """
    if topics.is_empty():
        return [
            Selection(pool.ranked[i].paper_id, _trending_reason(pool.ranked[i]), pool.normalised(i))
            for i in pool.first_eligible("*", pool.everything, size, since, sent)
        ]
    # Each matched pool index with its (strength, reason) matches, in the order the topics come.
    matches: dict[int, list[tuple[float, str]]] = {}
    entry = matches.setdefault
    for category in topics.categories:
        listed = pool.by_category.get(category.casefold(), [])
        reason = f"in {category}, which you follow"
        for index in pool.first_eligible("c:" + category.casefold(), listed, size, since, sent):
            entry(index, []).append((CATEGORY_STRENGTH, reason))
    for author in topics.authors:
        listed = pool.by_followed_author(author)
        reason = f"by {author}, whom you follow"
        for index in pool.first_eligible("a:" + author, listed, size, since, sent):
            entry(index, []).append((AUTHOR_STRENGTH, reason))
    for phrase in topics.phrases:
        key = topic_key(phrase)
        order, strengths = pool.topic_hits(key, topic_matches.get(key, ()))
        reason = f"matches your topic '{phrase}'"
        for index in pool.first_eligible("t:" + key, order, size, since, sent):
            entry(index, []).append((strengths[index], reason))
    plain = pool.first_eligible("*", pool.everything, size, since, sent)
    ranked, normal = pool.ranked, pool.normal
    # (-score, index): the best first, ties by pool position. The arithmetic is normalised() + weight * strength,
    # the strength of a paper matched once its match's, else the largest plus the bonus per further match.
    scored = [
        (
            -(
                normal[index]
                + TOPIC_WEIGHT
                * (found[0][0] if len(found) == 1 else max(found)[0] + EXTRA_MATCH_BONUS * (len(found) - 1))
            ),
            index,
        )
        for index, found in matches.items()
    ]
    scored += [(-(normal[index] + TOPIC_WEIGHT * 0.0), index) for index in plain if index not in matches]
    chosen: list[Selection] = []
    for negated, index in heapq.nsmallest(size, scored):
        # Reasons are written only for the papers that make it: the strongest match first, at most two.
        found = matches.get(index)
        if not found:
            reason = _trending_reason(ranked[index])
        elif len(found) == 1:
            reason = found[0][1]
        else:
            strongest = sorted(found, key=lambda match: -match[0])
            reason = "; ".join(dict.fromkeys(r for _, r in strongest[:2]))
        chosen.append(Selection(ranked[index].paper_id, reason, -negated))
    return chosen
