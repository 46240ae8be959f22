"""Users and their single-use sign-in links.

A link's token is random and never stored: only its SHA-256 is, so a copy of the database
cannot sign anyone in. Using a link is one conditional UPDATE (unused and unexpired), which
exactly one of two racing requests wins.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

from sqlalchemy import Connection, Row, delete, select, update

from papertide.domain.accounts import LinkCheck, LinkState, Role, User
from papertide.domain.clock import as_utc
from papertide.store.dialect import insert_if_absent
from papertide.store.schema import login_tokens, users

# Spent and expired links are kept this long so that opening one explains itself
# ("already used", "expired") instead of looking forged.
LINK_RETENTION = dt.timedelta(days=7)


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def to_user(row: Row[Any]) -> User:
    """A row of ``users`` as a User."""
    return User(
        id=row.id,
        email=row.email,
        created_at=as_utc(row.created_at),
        last_login_at=as_utc(row.last_login_at) if row.last_login_at else None,
        session_epoch=row.session_epoch,
        handle=row.handle,
        display_name=row.display_name,
        role=Role(row.role),
        suspended_at=as_utc(row.suspended_at) if row.suspended_at else None,
        suspension_reason=row.suspension_reason,
    )


def get_user(conn: Connection, user_id: int) -> User | None:
    """A user by id, or None."""
    row = conn.execute(select(users).where(users.c.id == user_id)).first()
    return to_user(row) if row else None


def get_user_by_email(conn: Connection, email: str) -> User | None:
    """A user by (normalised) email address, or None."""
    row = conn.execute(select(users).where(users.c.email == email)).first()
    return to_user(row) if row else None


def write_login(conn: Connection, email: str, now: dt.datetime) -> User:
    """The user with this address, created on first sign-in, with the sign-in time recorded."""
    when = as_utc(now)
    insert_if_absent(conn, users, {"email": email, "created_at": when, "session_epoch": 0})
    conn.execute(update(users).where(users.c.email == email).values(last_login_at=when))
    user = get_user_by_email(conn, email)
    if user is None:  # only if the row was deleted between the two statements
        raise LookupError(f"user {email} vanished during sign-in")
    return user


def write_session_epoch(conn: Connection, user_id: int) -> int:
    """Invalidate every session of the user ("sign out everywhere"); returns the new epoch."""
    epoch = conn.execute(
        update(users)
        .where(users.c.id == user_id)
        .values(session_epoch=users.c.session_epoch + 1)
        .returning(users.c.session_epoch)
    ).scalar_one()
    return int(epoch)


def create_login_token(
    conn: Connection, email: str, *, now: dt.datetime, lifetime: dt.timedelta, next_url: str | None = None
) -> str:
    """Store a new single-use link for ``email`` and return its secret token (for the mail only)."""
    when = as_utc(now)
    conn.execute(delete(login_tokens).where(login_tokens.c.expires_at < when - LINK_RETENTION))
    token = secrets.token_urlsafe(32)
    conn.execute(
        login_tokens.insert().values(
            token_hash=_hash_token(token),
            email=email,
            created_at=when,
            expires_at=when + lifetime,
            next_url=next_url,
        )
    )
    return token


def check_login_token(conn: Connection, token: str, now: dt.datetime) -> LinkCheck:
    """What opening this link would do, without using it."""
    row = conn.execute(select(login_tokens).where(login_tokens.c.token_hash == _hash_token(token))).first()
    if row is None:
        return LinkCheck(LinkState.UNKNOWN)
    if row.used_at is not None:
        state = LinkState.USED
    elif as_utc(row.expires_at) <= as_utc(now):
        state = LinkState.EXPIRED
    else:
        state = LinkState.VALID
    return LinkCheck(state, email=row.email, next_url=row.next_url)


def redeem_login_token(conn: Connection, token: str, now: dt.datetime) -> LinkCheck:
    """Use the link: VALID exactly once, then USED; EXPIRED or UNKNOWN otherwise."""
    when = as_utc(now)
    token_hash = _hash_token(token)
    spent = conn.execute(
        update(login_tokens)
        .where(
            login_tokens.c.token_hash == token_hash,
            login_tokens.c.used_at.is_(None),
            login_tokens.c.expires_at > when,
        )
        .values(used_at=when)
    ).rowcount
    check = check_login_token(conn, token, now)
    if spent == 1:
        return LinkCheck(LinkState.VALID, email=check.email, next_url=check.next_url)
    return check


def delete_user(conn: Connection, user_id: int) -> bool:
    """Erase an account and the sign-in links of its address; False when it was already gone.

    Rows that only make sense with the person (votes, comments, collections, follows) cascade
    with it; the anonymous counts cached on papers are not touched (docs/community.md).
    """
    row = conn.execute(select(users.c.email).where(users.c.id == user_id)).first()
    if row is None:
        return False
    conn.execute(delete(login_tokens).where(login_tokens.c.email == row.email))
    return conn.execute(delete(users).where(users.c.id == user_id)).rowcount == 1
