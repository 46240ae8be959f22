"""What paper cards and pages show beyond the paper itself (issue 11), as template globals.

Author names become links to author pages, the signed-in member's collections feed the
"add to collection" forms, the paper page lists the public collections holding it, and
stored links are shown only when they are http(s). (Comment counts and "submitted by" are
web/community_view.py's.) Each reads the database at most once per
request and name (cached on ``request.state``; per-card facts for the whole page at once, see
web/page_cards.py), and only when a template asks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from fastapi import Request

from papertide.domain.author_match import match_authors
from papertide.domain.authors import FollowedAuthor, author_key
from papertide.domain.collections import Collection
from papertide.domain.latex import render_tex
from papertide.domain.listing_extras import ListingExtras
from papertide.store.collections import list_member_collections, list_public_collections_with_paper
from papertide.store.follows import list_follows
from papertide.store.listing_extras import read_listing_extras
from papertide.web.page_cards import read_card_fact
from papertide.web.security import session_user

_STATE_COLLECTIONS = "papertide_my_collections"
NO_EXTRAS = ListingExtras()


@dataclass(frozen=True, slots=True)
class AuthorLink:
    """One author as a card shows it: the name (TeX rendered) and its page, or no page when it has no key."""

    name: str
    key: str


@dataclass(frozen=True, slots=True)
class AuthorLinks:
    """The first few authors of a paper with links, and how many more there are."""

    shown: tuple[AuthorLink, ...]
    more: int
    matched: tuple[AuthorLink, ...] = ()


def author_links(authors: Sequence[str], limit: int = 6, filters: Sequence[str] = ()) -> AuthorLinks:
    """The authors to link (a Jinja global): the first ``limit``, each with its author-page key.

    An author an ``author:`` filter matched is always shown, even past ``limit`` ("A, B, … Ada
    Lovelace, and 5 more"): a search for an author lists papers whose author lists are cut, and
    the reader should see why each one matched (issue 10).
    """
    names = list(authors)
    shown = tuple(AuthorLink(render_tex(name), author_key(name)) for name in names[:limit])
    matched = tuple(
        AuthorLink(render_tex(names[position]), author_key(names[position]))
        for position in match_authors(names, filters)
        if position >= limit
    )
    return AuthorLinks(shown, max(0, len(names) - limit - len(matched)), matched)


def my_collections(request: Request) -> list[Collection]:
    """The signed-in member's collections (all of them), for the "add to collection" forms."""
    cached: list[Collection] | None = getattr(request.state, _STATE_COLLECTIONS, None)
    if cached is not None:
        return cached
    user = session_user(request)
    found: list[Collection] = []
    if user is not None and user.handle:
        with request.app.state.engine.connect() as conn:
            found = list_member_collections(conn, user.id, public_only=False)
    setattr(request.state, _STATE_COLLECTIONS, found)
    return found


def collections_with_paper(request: Request, paper_id: int) -> list[Collection]:
    """The public collections that include a paper (a Jinja global for the paper page)."""
    with request.app.state.engine.connect() as conn:
        return list_public_collections_with_paper(conn, paper_id, limit=20)


def followed_authors(request: Request) -> list[FollowedAuthor]:
    """The authors the signed-in member follows (a Jinja global for the account page)."""
    user = session_user(request)
    if user is None:
        return []
    with request.app.state.engine.connect() as conn:
        return list_follows(conn, user.id)


def listing_extras(request: Request, paper_id: int) -> ListingExtras:
    """Hugging Face's submitter, thumbnail, stars and project page of a paper (a Jinja global).

    Read for every card of the page at once (web/page_cards.py).
    """
    return read_card_fact(request, read_listing_extras, paper_id) or NO_EXTRAS
