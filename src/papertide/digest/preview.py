"""What a subscriber's next digest would hold right now, composed but neither stored nor sent.

Used by `papertide digest preview EMAIL` and the preview link on the preferences page.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from papertide.digest.compose import DigestEntry, MailComposer
from papertide.digest.plan import TopicCache, TopicMatcher, choose_papers, fetch_pool
from papertide.digest.policy import DigestPolicy
from papertide.digest.schedule import select_since, select_slot
from papertide.digest.why import EmptyReason, pool_reason, state_reason
from papertide.domain.periods import local_date
from papertide.domain.subscribers import Subscriber
from papertide.mail.transport import RawMessage
from papertide.store.follows import list_followed_names_by_email
from papertide.store.selections import PoolSelections, list_sent_papers


def run_preview(
    engine: Engine,
    composer: MailComposer,
    subscriber: Subscriber,
    *,
    now: dt.datetime,
    policy: DigestPolicy,
    matcher: TopicMatcher | None = None,
) -> RawMessage | EmptyReason:
    """The digest ``subscriber`` would get if it went out at ``now``, or why there would be none.

    A state that stops the digest (unconfirmed, unsubscribed, bouncing, paused) is the reason
    only when nothing would be in it anyway: the preview still shows what a paused subscriber
    would get, so they can decide to resume.
    """
    preferences = subscriber.preferences
    slot = select_slot(preferences, now) or select_slot(dataclasses.replace(preferences, frequency="daily"), now)
    assert slot is not None
    pool, papers = fetch_pool(engine, now, policy)
    with engine.connect() as conn:
        history = PoolSelections(c.paper_id for c in pool.ranked)
        sent = list_sent_papers(conn, history, first_subscriber=subscriber.id, last_subscriber=subscriber.id)
        followed = list_followed_names_by_email(conn, [subscriber.email]).get(subscriber.email, ())
    topics = TopicCache(matcher, policy.topic_hits, [c.paper_id for c in pool.ranked])
    zone = ZoneInfo(policy.list_timezone)
    chosen = choose_papers(subscriber, slot, pool, sent.get(subscriber.id, set()), topics, zone, policy, followed)
    if not chosen:
        since = local_date(select_since(subscriber, slot, max_lookback=policy.max_lookback), zone)
        sent_to_them = sent.get(subscriber.id, set())
        lookback_days = policy.max_lookback.days
        return state_reason(subscriber) or pool_reason(
            pool, subscriber=subscriber, since=since, sent=sent_to_them, lookback_days=lookback_days
        )
    entries = [
        DigestEntry(
            paper_id=paper.id,
            arxiv_id=paper.arxiv_id,
            title=paper.title,
            authors=paper.authors,
            abstract=paper.abstract,
            upvotes=paper.upvotes,
            reason=choice.reason,
        )
        for choice in chosen
        if (paper := papers.get(choice.paper_id)) is not None
    ]
    frequency = "weekly" if preferences.frequency == "weekly" else "daily"
    return composer.compose_digest(
        subscriber_id=subscriber.id,
        email=subscriber.email,
        frequency=frequency,
        period_label=slot.label,
        message_id=composer.site.make_message_id("preview:" + slot.period_key, subscriber.id),
        entries=entries,
        now=now,
    )
