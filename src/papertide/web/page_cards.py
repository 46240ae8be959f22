"""What paper cards show beyond the paper, read for every card of a page at once.

Cards call template globals such as ``comment_counts(request, item.id)`` one card at a time.
Read one paper at a time, a page of 30 cards cost 120 queries and most of the page's time
under load (issue 9, bench/load.py). A route that renders cards names its papers first with
``expect_cards``; the first card that asks for a kind of fact (comment counts, submissions,
Hugging Face's extras) then reads that kind for every paper of the page in one query, and the
other cards are served from that read. Templates keep calling the same globals, so operator
overrides work unchanged; a paper no route named (a page showing one paper) is read alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TypeVar, cast

from fastapi import Request
from sqlalchemy import Connection

T = TypeVar("T")
# Reads facts for many papers at once; papers with none are left out of the answer.
CardReader = Callable[[Connection, list[int]], Mapping[int, T]]

_STATE_EXPECTED = "papertide_card_ids"
_STATE_READ = "papertide_card_facts"


def expect_cards(request: Request, paper_ids: Iterable[int]) -> None:
    """Name the papers this page shows as cards, so each fact is read for all of them together."""
    expected: list[int] = getattr(request.state, _STATE_EXPECTED, [])
    setattr(request.state, _STATE_EXPECTED, list(dict.fromkeys([*expected, *paper_ids])))


def read_card_fact(request: Request, reader: CardReader[T], paper_id: int) -> T | None:
    """``reader``'s fact about one card's paper (None when it has none), read once per request and page.

    On a miss, ``reader`` runs for this paper and every expected paper it has not run for yet.
    (The casts name their types as strings: this runs for every card, and subscripting a
    generic alias at run time costs more than the lookup.)
    """
    facts: dict[CardReader[object], dict[int, object]] = getattr(request.state, _STATE_READ, None) or {}
    setattr(request.state, _STATE_READ, facts)
    known = facts.setdefault(cast("CardReader[object]", reader), {})
    if paper_id not in known:
        expected: list[int] = getattr(request.state, _STATE_EXPECTED, [])
        wanted = [one for one in dict.fromkeys([paper_id, *expected]) if one not in known]
        with request.app.state.engine.connect() as conn:
            found = reader(conn, wanted)
        known.update({one: found.get(one) for one in wanted})
    return cast("T | None", known[paper_id])
