"""Authors members follow (issue 11), and the names the digest adds to a subscriber's authors.

A follow is keyed by the author page's key (domain/authors.py) and keeps the name form the
member followed. The digest matches papers by that name (digest/select.py), for the
subscriber whose address is the member's (see docs/community.md, "Following authors").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import Connection, delete, func, select

from papertide.domain.authors import FollowedAuthor
from papertide.domain.clock import as_utc
from papertide.store.any_of import any_of
from papertide.store.dialect import insert_if_absent
from papertide.store.schema import author_follows, users


def insert_follow(conn: Connection, *, user_id: int, author_key: str, display_name: str, now: dt.datetime) -> bool:
    """Follow an author; False when the member already follows that key."""
    values = {"user_id": user_id, "author_key": author_key, "display_name": display_name, "created_at": as_utc(now)}
    return insert_if_absent(conn, author_follows, values)


def delete_follow(conn: Connection, *, user_id: int, author_key: str) -> bool:
    """Stop following; False when the member did not follow that key."""
    result = conn.execute(
        delete(author_follows).where(author_follows.c.user_id == user_id, author_follows.c.author_key == author_key)
    )
    return result.rowcount == 1


def list_follows(conn: Connection, user_id: int) -> list[FollowedAuthor]:
    """The authors a member follows, by name."""
    rows = conn.execute(
        select(author_follows)
        .where(author_follows.c.user_id == user_id)
        .order_by(author_follows.c.display_name, author_follows.c.author_key)
    )
    return [FollowedAuthor(row.author_key, row.display_name, as_utc(row.created_at)) for row in rows]


def is_following(conn: Connection, user_id: int, author_key: str) -> bool:
    """Whether the member follows the author key."""
    found = conn.execute(
        select(author_follows.c.user_id).where(
            author_follows.c.user_id == user_id, author_follows.c.author_key == author_key
        )
    ).first()
    return found is not None


def count_follows(conn: Connection, user_id: int) -> int:
    """How many authors a member follows."""
    statement = select(func.count()).select_from(author_follows).where(author_follows.c.user_id == user_id)
    return int(conn.execute(statement).scalar_one())


def count_followers(conn: Connection, author_key: str) -> int:
    """How many members follow an author key."""
    statement = select(func.count()).select_from(author_follows).where(author_follows.c.author_key == author_key)
    return int(conn.execute(statement).scalar_one())


def list_followed_names_by_email(conn: Connection, emails: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """Followed author names of the members with these addresses, for their digests.

    Both tables keep addresses lower-cased (web sign-in and digest/preferences.py normalise them).
    """
    wanted = sorted({email.lower() for email in emails})
    found: dict[str, list[str]] = {}
    for start in range(0, len(wanted), 500):
        rows = conn.execute(
            select(users.c.email, author_follows.c.display_name)
            .join(author_follows, author_follows.c.user_id == users.c.id)
            .where(any_of(conn, users.c.email, wanted[start : start + 500]))
            .order_by(users.c.email, author_follows.c.display_name)
        )
        for row in rows:
            found.setdefault(row.email, []).append(row.display_name)
    return {email: tuple(names) for email, names in found.items()}
