"""Atom feeds of paper pages (a collection, an author, a member's submissions, a category).

Every such page at ``PATH`` has its feed at ``PATH/feed.atom``; one entry per paper, in the
page's order, dated by the paper's listing day (else its publication day).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from papertide.domain.models import StoredPaper
from papertide.web.feed_documents import ATOM_TYPE, Feed, FeedEntry, compose_atom, compose_summary

__all__ = ["ATOM_TYPE", "FEED_SUFFIX", "compose_papers_feed"]
FEED_SUFFIX = "/feed.atom"


def _entry_time(stored: StoredPaper, now: dt.datetime) -> dt.datetime:
    day = stored.paper.listing_date
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC) if day else now


def compose_papers_feed(
    papers: Sequence[StoredPaper],
    *,
    base_url: str,
    path: str,
    title: str,
    now: dt.datetime,
    subtitle: str = "",
    notes: Mapping[int, str] | None = None,
) -> bytes:
    """The Atom document of the page at ``path``; ``notes`` (by paper id) lead an entry's summary."""
    base = base_url.rstrip("/")
    entries = []
    for stored in papers:
        paper = stored.paper
        url = f"{base}/papers/{paper.arxiv_id}"
        note = (notes or {}).get(stored.id, "")
        entries.append(
            FeedEntry(
                id=url,
                title=paper.title,
                link=url,
                updated=_entry_time(stored, now),
                summary=(f"{note}\n\n" if note else "") + compose_summary(paper.abstract),
                authors=paper.authors,
                categories=paper.categories,
            )
        )
    feed = Feed(
        id=f"{base}{path}{FEED_SUFFIX}",
        title=title,
        link=f"{base}{path}",
        self_link=f"{base}{path}{FEED_SUFFIX}",
        updated=max((entry.updated for entry in entries), default=now),
        subtitle=subtitle,
        entries=entries,
    )
    return compose_atom(feed)
