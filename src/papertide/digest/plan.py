"""Planning: deciding which digests are due and what goes into each, written to the delivery queue.

The candidate pool is read and scored once per run; subscribers are then walked in id order,
``plan_batch`` at a time: one read for the batch (who is due, what they were already sent),
selection in memory, one write transaction for the batch's delivery rows, the selections
first used in the batch and ``last_digest_at``. A run killed here loses nothing: a batch is written whole or not at all,
and the rerun plans what is still missing.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
from collections import Counter, deque
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from papertide.digest.policy import DigestPolicy
from papertide.digest.schedule import Slot, select_due_slot, select_since
from papertide.digest.select import Candidate, CandidatePool, Selection, author_keys, select_items, topic_key
from papertide.digest.why import NOT_DUE, SHORT, pool_reason
from papertide.domain.periods import local_date
from papertide.domain.subscribers import Subscriber, Topics, topic_words
from papertide.domain.trending import score_age_hours, trending_score
from papertide.store.deliveries import (
    CandidatePaper,
    PlannedDigest,
    PlannedRows,
    PlannedSelection,
    WrittenPlan,
    list_candidate_papers,
    list_planned,
    prepare_planned,
    write_planned,
)
from papertide.store.engine import begin_write, single_statement_reads
from papertide.store.follows import list_followed_names_by_email
from papertide.store.selections import PlannedItem, PoolSelections, list_sent_papers
from papertide.store.subscribers import LastDigestRows, bind_last_digest, list_subscribers, write_last_digest

log = logging.getLogger(__name__)

TopicMatcher = Callable[[str, int, Collection[int]], Sequence[int]]
"""Free-text topic, how many hits and the candidate ids -> candidate ids, most relevant first (the search service)."""
MessageIds = Callable[[str, int], str]
SearchIds = Callable[[str, int, Collection[int]], Sequence[int]]
SearchTopics = Callable[[Sequence[str], int, Collection[int]], Mapping[str, Sequence[int]]]
"""Many topics at once -> each topic's candidate ids, most relevant first (search/topics.py)."""


@runtime_checkable
class BatchTopicMatcher(Protocol):
    """A topic matcher that also matches many topics in one call, sharing the work between them."""

    def __call__(self, topic: str, hits: int, candidates: Collection[int]) -> Sequence[int]: ...

    def match_many(self, topics: Sequence[str], hits: int, candidates: Collection[int]) -> Mapping[str, Sequence[int]]:
        """Each topic's matches; a topic that fails matches nothing."""
        ...


Advance = Callable[[int], None]

MATCH_AHEAD_TOPICS = 256
"""A later batch bringing fewer new topics than this also matches those of the batches after it (issue 13).

Each call to the search service has a fixed cost (a model call, a matrix product, an index
refresh) that a handful of topics does not share: at 100,000 subscribers, batches of 500 bring
a few dozen new topics each and matching them cost 2-3 times what it costs in bulk. The first
batch never waits for more: delivery starts on its digests.
"""
MATCH_AHEAD_BATCHES = 20
"""How many batches after the current one planning reads ahead to gather topics (they are kept and planned later)."""


@dataclass
class PlanReport:
    """What planning did; ``papers`` keeps the pool's papers for composing."""

    subscribers: int = 0
    due: int = 0
    planned: int = 0
    already_planned: int = 0
    empty: int = 0
    pool: int = 0
    papers: dict[int, CandidatePaper] = field(default_factory=dict)
    # Why the ``empty`` digests were empty, by reason code (digest/why.py).
    empty_reasons: Counter[str] = field(default_factory=Counter)

    @property
    def not_due(self) -> int:
        """Confirmed subscribers whose delivery hour has not come (or whose digest is paused)."""
        return self.subscribers - self.due

    def why_nothing(self) -> str:
        """Why this run planned no digest, in words (empty when it planned some or found some planned)."""
        if self.planned or self.already_planned:
            return ""
        if self.subscribers == 0:
            return "no confirmed subscribers"
        parts = [f"{count} {SHORT[code]}" for code, count in self.empty_reasons.most_common()]
        if self.not_due:
            parts.append(f"{self.not_due} {SHORT[NOT_DUE]}")
        return ", ".join(parts)


def fetch_pool(
    engine: Engine, now: dt.datetime, policy: DigestPolicy
) -> tuple[CandidatePool, dict[int, CandidatePaper]]:
    """Every paper listed within the look-back, scored by trending at ``now``."""
    zone = ZoneInfo(policy.list_timezone)
    today = local_date(now, zone)
    since = local_date(now - policy.max_lookback, zone)
    with engine.connect() as conn:
        papers = list_candidate_papers(conn, since=since, until=today)
    candidates = [
        Candidate(
            paper_id=paper.id,
            listed_on=paper.listed_on,
            upvotes=paper.upvotes,
            score=trending_score(
                paper.upvotes,
                score_age_hours(paper.listed_on, now, zone),
                gravity=policy.trending_gravity,
                offset_hours=policy.trending_offset_hours,
            ),
            categories=paper.categories,
            authors=paper.authors,
        )
        for paper in papers
    ]
    return CandidatePool(candidates), {paper.id: paper for paper in papers}


class SearchTopicMatcher:
    """Topics matched by the search service: plain words, searched among the candidates.

    Quotes and colons are dropped so a topic never reads as query syntax ("ODE: theory" is not a
    filter). The search runs among the run's candidate papers themselves (chosen by listing
    date): a date filter on the publication date would miss a paper published long before it
    was listed or trended. ``match_many`` gives the same ranking for many topics at once
    (issue 13: a run has thousands of distinct topics).
    """

    def __init__(self, search_ids: SearchIds, search_topics: SearchTopics | None = None) -> None:
        self.search_ids = search_ids
        self.search_topics = search_topics

    def __call__(self, topic: str, hits: int, candidates: Collection[int]) -> Sequence[int]:
        words = topic_words(topic)
        return self.search_ids(words, hits, candidates) if words and candidates else []

    def match_many(self, topics: Sequence[str], hits: int, candidates: Collection[int]) -> Mapping[str, Sequence[int]]:
        """Each topic's matches among the candidates."""
        if self.search_topics is None or not candidates:
            return {topic: self(topic, hits, candidates) for topic in topics}
        words = {topic: topic_words(topic) for topic in topics}
        found = self.search_topics(sorted({w for w in words.values() if w}), hits, candidates)
        return {topic: found.get(text, []) if text else [] for topic, text in words.items()}


def make_topic_matcher(search_ids: SearchIds, search_topics: SearchTopics | None = None) -> SearchTopicMatcher:
    """Adapt a search service's ``search_ids`` (and its batch form, when given) to topics."""
    return SearchTopicMatcher(search_ids, search_topics)


class TopicCache:
    """Search hits per free-text topic, asked once per run whatever the number of followers."""

    def __init__(self, matcher: TopicMatcher | None, hits: int, candidates: Collection[int]) -> None:
        self.matcher = matcher
        self.hits = hits
        # The run's candidate papers: topics are matched among them alone.
        self.candidates = frozenset(candidates)
        self.found: dict[str, Sequence[int]] = {}

    def ensure(self, phrases: Sequence[str], ahead: Iterable[Sequence[str]] = (), group: int = 0) -> None:
        """Search the phrases not searched yet in this run (in one call when the matcher can batch).

        :param ahead: the topics of subscribers planned later, each subscriber's as one sequence,
            read only as far as needed: when ``phrases`` bring some new topics but fewer than
            ``group``, new topics from ``ahead`` join the same call until there are ``group``.
        """
        keyed: dict[str, str] = {}

        def add(more: Sequence[str]) -> None:
            for phrase in more:
                key = topic_key(phrase)
                if key not in self.found and key not in keyed:
                    keyed[key] = phrase  # "Neural  ODEs" and "neural ODEs" are one topic: searched once

        add(phrases)
        if keyed and len(keyed) < group:
            for more in ahead:
                add(more)
                if len(keyed) >= group:
                    break
        missing = list(keyed.values())
        if missing and isinstance(self.matcher, BatchTopicMatcher):
            try:
                matched = self.matcher.match_many(missing, self.hits, self.candidates)
            except Exception:
                # Fall back to one search per topic below: one bad topic then costs only itself.
                log.exception("matching %d topics at once failed; matching them one by one", len(missing))
            else:
                for phrase in missing:
                    self.found.setdefault(topic_key(phrase), list(matched.get(phrase, [])))
                return
        for phrase in missing:
            key = topic_key(phrase)
            if key in self.found:
                continue
            try:
                found = self.matcher(phrase, self.hits, self.candidates) if self.matcher else []
                self.found[key] = list(found)
            except Exception:
                # One topic the search cannot handle must not stop everyone's digest.
                log.exception("topic search failed for %r; the topic matches nothing this run", phrase)
                self.found[key] = []


def add_followed_authors(topics: Topics, followed: Sequence[str]) -> Topics:
    """A subscriber's topics plus the authors followed on the site by the member with the same address.

    Follows are read at planning time rather than copied into preferences, so unfollowing takes
    effect at the next digest and the preferences form keeps only what was typed (issue 11).
    """
    if not followed:
        return topics  # most subscribers follow no one on the site
    known = {author_keys(name)[0] for name in topics.authors}
    extra = tuple(dict.fromkeys(name for name in followed if author_keys(name)[0] not in known))
    return dataclasses.replace(topics, authors=topics.authors + extra) if extra else topics


def choose_papers(
    subscriber: Subscriber,
    slot: Slot,
    pool: CandidatePool,
    sent: set[int],
    topics: TopicCache,
    zone: ZoneInfo,
    policy: DigestPolicy,
    followed: Sequence[str] = (),
) -> list[Selection]:
    """The papers of one subscriber's digest for ``slot``: new to them since their previous digest.

    :param followed: names of the authors the member with the subscriber's address follows.
    """
    preferences = subscriber.preferences
    topics.ensure(preferences.topics.phrases)
    since = local_date(select_since(subscriber, slot, max_lookback=policy.max_lookback), zone)
    return select_items(
        pool,
        topics=add_followed_authors(preferences.topics, followed),
        size=preferences.size,
        since=since,
        sent=sent,
        topic_matches=topics.found,
    )


SelectionKey = tuple[Topics, int, dt.date, frozenset[int]]


class SelectionCache:
    """Each distinct selection of a run computed once (issue 13).

    A selection depends only on the topics followed, the size, the first listing date that counts
    as new and those papers already sent that were listed since that date (CandidatePool.sent_since:
    the others cannot be chosen anyway, and after the first day they are nearly all a reader's
    history): most subscribers share a few category or topic sets, and readers with different
    histories share a selection. So 100,000 subscribers cost a few thousand selections, their
    items are built once per selection, and each is stored once (the first batch that uses it
    writes it; later digests point at it). Different keys often choose the very same items and
    reasons (a topic that matches nothing new, a history that reaches below the top): those
    share one stored selection too, since a digest is its items and nothing else (issue 13: 29 %
    fewer selections and item rows to write, each row's key and foreign keys checked by the database).
    """

    def __init__(self, pool: CandidatePool, topics: TopicCache) -> None:
        self.pool = pool
        self.topics = topics
        self.chosen: dict[SelectionKey, PlannedSelection] = {}
        self.by_items: dict[tuple[PlannedItem, ...], PlannedSelection] = {}

    def select(self, topics: Topics, size: int, since: dt.date, sent: set[int]) -> PlannedSelection:
        """The digest for these topics, size, start date and papers already sent (no items: nothing new)."""
        seen = self.pool.sent_since(sent, since)
        key = (topics, size, since, seen)
        selection = self.chosen.get(key)
        if selection is None:
            chosen = select_items(
                self.pool, topics=topics, size=size, since=since, sent=seen, topic_matches=self.topics.found
            )
            items = tuple([PlannedItem(c.paper_id, i, c.reason) for i, c in enumerate(chosen)])
            selection = self.by_items.get(items)
            if selection is None:
                selection = self.by_items[items] = PlannedSelection(items)
            self.chosen[key] = selection
        return selection


Page = list[tuple[Subscriber, Slot | None]]
"""Subscribers read together, each with the slot of the digest due for them at the run's ``now`` (None: not due)."""


class SubscriberPages:
    """Confirmed subscribers in id order, a batch at a time, with the batches after the current one in sight.

    Matching topics ahead (``MATCH_AHEAD_TOPICS``) looks at later batches before planning them:
    those are read once, kept, and planned from the same rows when their turn comes, so each
    subscriber is still read once per run, and whether their digest is due is decided once, as
    the page is read (issue 13: looking ahead asked it again at every batch). A row read ahead
    is at most ``MATCH_AHEAD_BATCHES`` batches old when planned; a subscriber who unsubscribes
    meanwhile is not sent to (delivery reads the status again before each message), and writing
    a (subscriber, period) another run planned meanwhile is skipped as before.
    """

    def __init__(self, engine: Engine, size: int, now: dt.datetime, policy: DigestPolicy) -> None:
        self.engine = engine
        self.size = size
        self.now = now
        self.max_delay = policy.max_delay
        self.after_id = 0
        self.kept: deque[Page] = deque()

    def _read(self) -> Page:
        with self.engine.connect() as conn:
            batch = list_subscribers(conn, statuses=["confirmed"], after_id=self.after_id, limit=self.size)
        if batch:
            self.after_id = batch[-1].id
        now, max_delay = self.now, self.max_delay
        return [(subscriber, select_due_slot(subscriber, now, max_delay=max_delay)) for subscriber in batch]

    def next_batch(self) -> Page:
        """The next batch to plan; empty when every subscriber has been planned."""
        return self.kept.popleft() if self.kept else self._read()

    def ahead(self, batches: int) -> Iterator[Page]:
        """The batches after the current one, up to ``batches`` of them, read (and kept) only as the caller asks."""
        for number in range(batches):
            if number == len(self.kept):
                batch = self._read()
                if not batch:
                    return
                self.kept.append(batch)
            yield self.kept[number]


def due_topics(pages: Iterable[Page]) -> Iterator[Sequence[str]]:
    """The free-text topics of those subscribers of ``pages`` whose digest is due."""
    for page in pages:
        for subscriber, slot in page:
            if slot is not None and subscriber.preferences.topics.phrases:
                yield subscriber.preferences.topics.phrases


def _write_batch(
    engine: Engine, planned: list[PlannedDigest], now: dt.datetime, rows: PlannedRows, slots: LastDigestRows
) -> WrittenPlan:
    """One batch's delivery rows, new selections and ``last_digest_at``, in one write transaction."""
    with begin_write(engine) as conn:
        written = write_planned(conn, planned, now, rows)
        write_last_digest(conn, slots.only(written.created))
    return written


def run_planning(
    engine: Engine,
    *,
    now: dt.datetime,
    policy: DigestPolicy,
    message_id: MessageIds,
    matcher: TopicMatcher | None = None,
    advance: Advance | None = None,
    match_ahead: int = MATCH_AHEAD_TOPICS,
) -> PlanReport:
    """Plan every digest due at ``now`` that has no delivery row yet.

    :param match_ahead: a later batch with fewer new topics than this matches those of the next batches too.
    """
    pool, papers = fetch_pool(engine, now, policy)
    report = PlanReport(pool=len(pool), papers=papers)
    zone = ZoneInfo(policy.list_timezone)
    pool_ids = [candidate.paper_id for candidate in pool.ranked]
    topics = TopicCache(matcher, policy.topic_hits, pool_ids)
    selections = SelectionCache(pool, topics)
    history = PoolSelections(pool_ids)
    # A batch's reads need no common snapshot: each stands alone (a pair planned meanwhile by another
    # run is skipped by the write, a history erased meanwhile is not read). In autocommit each use
    # of a connection on PostgreSQL saves its BEGIN and ROLLBACK round trips (store/engine.py).
    reads = single_statement_reads(engine)
    # Subscriber pages are read in a transaction of their own (store/index_order.py): a few round trips per 500.
    pages = SubscriberPages(engine, policy.plan_batch, now, policy)
    # On PostgreSQL a batch's write runs in a thread while the next batch is read and chosen (issue 13:
    # planning waited for the server's writes, 12.5 of its 29 s at 100,000 subscribers; the thread waits
    # for the server without the GIL). On SQLite the write is this process's own work, and two threads
    # taking turns on the GIL cost more than they overlapped (planning's CPU 14.3 -> 17.4 s at 100,000),
    # so it runs here. Either way a write is settled before the next batch's rows are prepared: those
    # point at the selections it stored.
    in_flight: tuple[Future[WrittenPlan] | WrittenPlan, int, int] | None = None  # (the write, batch size, digests)

    def settle() -> None:
        """Wait for the write in flight (its error raises here) and account for it."""
        nonlocal in_flight
        if in_flight is None:
            return
        write, size, count = in_flight
        in_flight = None
        written = write.result() if isinstance(write, Future) else write
        # Committed: later batches point at these selections instead of storing them again.
        for selection, selection_id in written.stored:
            selection.id = selection_id
        report.planned += len(written.created)
        report.already_planned += count - len(written.created)
        if advance is not None:
            advance(size)

    writer = None
    if engine.dialect.name != "sqlite":
        writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="papertide-plan-write")
    with writer or contextlib.nullcontext():
        while True:
            batch = pages.next_batch()
            if not batch:
                break
            first = report.subscribers == 0
            with reads.connect() as conn:
                report.subscribers += len(batch)
                due = [(subscriber, slot) for subscriber, slot in batch if slot is not None]
                report.due += len(due)
                existing = list_planned(conn, [s.id for s, _ in due], {slot.period_key for _, slot in due})
                due = [(s, slot) for s, slot in due if (s.id, slot.period_key) not in existing]
                report.already_planned += len(existing)
                sent = (
                    list_sent_papers(conn, history, first_subscriber=due[0][0].id, last_subscriber=due[-1][0].id)
                    if due and pool_ids
                    else {}
                )
                followed = list_followed_names_by_email(conn, [s.email for s, _ in due]) if due else {}
            # Every new topic of the batch in one call: they share the candidates' filter and vectors. After
            # the first batch, a call with few new topics also takes those of the next batches.
            topics.ensure(
                [phrase for subscriber, _ in due for phrase in subscriber.preferences.topics.phrases],
                ahead=() if first else due_topics(pages.ahead(MATCH_AHEAD_BATCHES)),
                group=match_ahead,
            )
            planned: list[PlannedDigest] = []
            for subscriber, slot in due:
                since = local_date(select_since(subscriber, slot, max_lookback=policy.max_lookback), zone)
                already = sent.get(subscriber.id, set())
                preferences = subscriber.preferences
                followed_topics = add_followed_authors(preferences.topics, followed.get(subscriber.email, ()))
                selection = selections.select(followed_topics, preferences.size, since, already)
                if not selection.items:
                    report.empty += 1
                    reason = pool_reason(
                        pool, subscriber=subscriber, since=since, sent=already, lookback_days=policy.max_lookback.days
                    )
                    report.empty_reasons[reason.code] += 1
                    continue
                planned.append(
                    PlannedDigest(
                        subscriber_id=subscriber.id,
                        period_key=slot.period_key,
                        message_id=message_id(slot.period_key, subscriber.id),
                        due_at=slot.due_at,
                        selection=selection,
                    )
                )
            settle()
            if planned:
                # Everything that needs no database is built before BEGIN: on SQLite the write lock held
                # meanwhile keeps the delivery processes from recording what they sent.
                rows = prepare_planned(engine.dialect, planned, now)
                slots = bind_last_digest(engine.dialect, [(digest.subscriber_id, digest.due_at) for digest in planned])
                write = (
                    writer.submit(_write_batch, engine, planned, now, rows, slots)
                    if writer is not None
                    else _write_batch(engine, planned, now, rows, slots)
                )
                in_flight = (write, len(batch), len(planned))
            elif advance is not None:
                advance(len(batch))
        settle()
    return report
