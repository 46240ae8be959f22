"""Member profiles, roles and suspensions: the community side of the ``users`` table (issue 11).

Sign-in and sessions stay in store/accounts.py; this module changes what others see of a member
and what the member may do. Handles arrive validated and lower-cased (domain/members.py); the
unique index on ``users.handle`` settles a race between two members choosing the same one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import Connection, select, update
from sqlalchemy.exc import IntegrityError

from papertide.domain.accounts import Role, User
from papertide.domain.clock import as_utc
from papertide.domain.errors import InvalidInput
from papertide.store.accounts import to_user
from papertide.store.schema import users


def get_user_by_handle(conn: Connection, handle: str) -> User | None:
    """A member by handle (any case), or None."""
    row = conn.execute(select(users).where(users.c.handle == handle.strip().lower())).first()
    return to_user(row) if row else None


def get_users(conn: Connection, user_ids: Iterable[int]) -> dict[int, User]:
    """Members by id; unknown ids are left out."""
    wanted = sorted(set(user_ids))
    found: dict[int, User] = {}
    for start in range(0, len(wanted), 500):
        for row in conn.execute(select(users).where(users.c.id.in_(wanted[start : start + 500]))):
            user = to_user(row)
            found[user.id] = user
    return found


def write_profile(conn: Connection, user_id: int, *, handle: str, display_name: str) -> bool:
    """Set a member's handle and display name; InvalidInput when another member has the handle.

    Returns False when the member does not exist. The update runs in a savepoint so that a
    lost race for a handle leaves the caller's transaction usable.
    """
    taken = conn.execute(select(users.c.id).where(users.c.handle == handle, users.c.id != user_id)).first()
    if taken is not None:
        raise InvalidInput("handle", f"@{handle} is taken; choose another")
    try:
        with conn.begin_nested():
            result = conn.execute(
                update(users).where(users.c.id == user_id).values(handle=handle, display_name=display_name)
            )
    except IntegrityError:
        raise InvalidInput("handle", f"@{handle} is taken; choose another") from None
    return result.rowcount == 1


def write_role(conn: Connection, user_id: int, role: Role) -> bool:
    """Give a member a role; True when it changed."""
    result = conn.execute(
        update(users).where(users.c.id == user_id, users.c.role != role.value).values(role=role.value)
    )
    return result.rowcount == 1


def write_suspension(conn: Connection, user_id: int, *, reason: str, now: dt.datetime) -> bool:
    """Suspend a member (read only from now on); True when they were not suspended already."""
    result = conn.execute(
        update(users)
        .where(users.c.id == user_id, users.c.suspended_at.is_(None))
        .values(suspended_at=as_utc(now), suspension_reason=reason)
    )
    return result.rowcount == 1


def clear_suspension(conn: Connection, user_id: int) -> bool:
    """Lift a suspension; True when the member was suspended."""
    result = conn.execute(
        update(users)
        .where(users.c.id == user_id, users.c.suspended_at.is_not(None))
        .values(suspended_at=None, suspension_reason=None)
    )
    return result.rowcount == 1


def list_members(
    conn: Connection, *, roles: Iterable[Role] = (), suspended: bool | None = None, limit: int = 100, offset: int = 0
) -> list[User]:
    """Members in id order, optionally only some roles and only (not) suspended ones."""
    statement = select(users)
    wanted = [role.value for role in roles]
    if wanted:
        statement = statement.where(users.c.role.in_(wanted))
    if suspended is True:
        statement = statement.where(users.c.suspended_at.is_not(None))
    elif suspended is False:
        statement = statement.where(users.c.suspended_at.is_(None))
    rows = conn.execute(statement.order_by(users.c.id).limit(limit).offset(offset))
    return [to_user(row) for row in rows]
