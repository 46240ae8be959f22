"""Collections and their papers (issue 11); who may see or change one is decided in community/collections.py.

Positions are dense from 0 within a collection; adding appends, removing closes the gap, and
reordering writes them all from the order given.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Row, Select, bindparam, delete, func, select, update

from papertide.domain.clock import as_utc
from papertide.domain.collections import Collection, CollectionItem
from papertide.store.dialect import insert_if_absent
from papertide.store.papers import get_papers
from papertide.store.schema import collection_items, collections, users

_COUNT = (
    select(func.count())
    .where(collection_items.c.collection_id == collections.c.id)
    .correlate(collections)
    .scalar_subquery()
    .label("paper_count")
)


def _select() -> Select[Any]:
    return select(collections, users.c.handle, users.c.display_name, _COUNT).join(
        users, users.c.id == collections.c.owner_id
    )


def _to_collection(row: Row[Any]) -> Collection:
    owner_id = int(row.owner_id)
    name = row.display_name or (f"@{row.handle}" if row.handle else f"member {owner_id}")
    return Collection(
        id=int(row.id),
        owner_id=owner_id,
        owner_handle=row.handle,
        owner_name=name,
        slug=row.slug,
        title=row.title,
        description=row.description,
        is_public=bool(row.is_public),
        created_at=as_utc(row.created_at),
        updated_at=as_utc(row.updated_at),
        paper_count=int(row.paper_count or 0),
    )


def insert_collection(
    conn: Connection, *, owner_id: int, slug: str, title: str, description: str, is_public: bool, now: dt.datetime
) -> int:
    """Create a collection; its slug becomes ``slug``, or ``slug-2``, ``slug-3``... when the owner has it already."""
    taken = {
        str(value)
        for value in conn.execute(
            select(collections.c.slug).where(collections.c.owner_id == owner_id, collections.c.slug.like(f"{slug}%"))
        ).scalars()
    }
    chosen, number = slug, 2
    while chosen in taken:
        chosen = f"{slug}-{number}"
        number += 1
    when = as_utc(now)
    return int(
        conn.execute(
            collections.insert()
            .values(
                owner_id=owner_id,
                slug=chosen,
                title=title,
                description=description,
                is_public=is_public,
                created_at=when,
                updated_at=when,
            )
            .returning(collections.c.id)
        ).scalar_one()
    )


def get_collection(conn: Connection, collection_id: int) -> Collection | None:
    """One collection by id, or None."""
    row = conn.execute(_select().where(collections.c.id == collection_id)).first()
    return _to_collection(row) if row else None


def get_collection_by_slug(conn: Connection, owner_id: int, slug: str) -> Collection | None:
    """One of a member's collections by slug, or None."""
    row = conn.execute(_select().where(collections.c.owner_id == owner_id, collections.c.slug == slug)).first()
    return _to_collection(row) if row else None


def list_member_collections(conn: Connection, owner_id: int, *, public_only: bool) -> list[Collection]:
    """A member's collections, most recently changed first."""
    statement = _select().where(collections.c.owner_id == owner_id)
    if public_only:
        statement = statement.where(collections.c.is_public.is_(True))
    rows = conn.execute(statement.order_by(collections.c.updated_at.desc(), collections.c.id.desc()))
    return [_to_collection(row) for row in rows]


def list_public_collections(conn: Connection, *, limit: int, offset: int = 0) -> list[Collection]:
    """Every public collection with at least one paper, most recently changed first."""
    rows = conn.execute(
        _select()
        .where(collections.c.is_public.is_(True), _COUNT > 0)
        .order_by(collections.c.updated_at.desc(), collections.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [_to_collection(row) for row in rows]


def list_public_collections_with_paper(conn: Connection, paper_id: int, *, limit: int) -> list[Collection]:
    """Public collections that include a paper (its paper page), most recently changed first."""
    holding = select(collection_items.c.collection_id).where(collection_items.c.paper_id == paper_id)
    rows = conn.execute(
        _select()
        .where(collections.c.is_public.is_(True), collections.c.id.in_(holding))
        .order_by(collections.c.updated_at.desc(), collections.c.id.desc())
        .limit(limit)
    )
    return [_to_collection(row) for row in rows]


def list_collection_ids_with_paper(conn: Connection, owner_id: int, paper_id: int) -> set[int]:
    """Which of a member's collections already hold a paper (to tick them in the "add to" menu)."""
    rows = conn.execute(
        select(collection_items.c.collection_id)
        .join(collections, collections.c.id == collection_items.c.collection_id)
        .where(collections.c.owner_id == owner_id, collection_items.c.paper_id == paper_id)
    )
    return {int(value) for value in rows.scalars()}


def count_member_collections(conn: Connection, owner_id: int) -> int:
    """How many collections a member has."""
    statement = select(func.count()).select_from(collections).where(collections.c.owner_id == owner_id)
    return int(conn.execute(statement).scalar_one())


def update_collection(conn: Connection, collection_id: int, values: dict[str, Any], now: dt.datetime) -> bool:
    """Change some of title, description, is_public; True when the collection exists."""
    allowed = {name: value for name, value in values.items() if name in {"title", "description", "is_public"}}
    result = conn.execute(
        update(collections).where(collections.c.id == collection_id).values(**allowed, updated_at=as_utc(now))
    )
    return result.rowcount == 1


def delete_collection(conn: Connection, collection_id: int) -> bool:
    """Remove a collection and its items."""
    return conn.execute(delete(collections).where(collections.c.id == collection_id)).rowcount == 1


def touch_collection(conn: Connection, collection_id: int, now: dt.datetime) -> None:
    """Record that the collection's papers changed (feeds and "recently changed" orders use it)."""
    conn.execute(update(collections).where(collections.c.id == collection_id).values(updated_at=as_utc(now)))


def count_items(conn: Connection, collection_id: int) -> int:
    """Papers in a collection."""
    statement = select(func.count()).where(collection_items.c.collection_id == collection_id)
    return int(conn.execute(statement).scalar_one())


def insert_item(conn: Connection, collection_id: int, paper_id: int, note: str, now: dt.datetime) -> bool:
    """Append a paper; False when the collection already holds it (nothing changes)."""
    last = conn.execute(
        select(func.max(collection_items.c.position)).where(collection_items.c.collection_id == collection_id)
    ).scalar_one_or_none()
    position = 0 if last is None else int(last) + 1
    values = {
        "collection_id": collection_id,
        "paper_id": paper_id,
        "position": position,
        "note": note,
        "added_at": as_utc(now),
    }
    return insert_if_absent(conn, collection_items, values)


def delete_item(conn: Connection, collection_id: int, paper_id: int) -> bool:
    """Take a paper out and close the gap in positions; False when it was not there."""
    position = conn.execute(
        select(collection_items.c.position).where(
            collection_items.c.collection_id == collection_id, collection_items.c.paper_id == paper_id
        )
    ).scalar_one_or_none()
    if position is None:
        return False
    conn.execute(
        delete(collection_items).where(
            collection_items.c.collection_id == collection_id, collection_items.c.paper_id == paper_id
        )
    )
    conn.execute(
        update(collection_items)
        .where(collection_items.c.collection_id == collection_id, collection_items.c.position > position)
        .values(position=collection_items.c.position - 1)
    )
    return True


def write_item_note(conn: Connection, collection_id: int, paper_id: int, note: str) -> bool:
    """Replace the note on a paper of the collection; False when the paper is not in it."""
    result = conn.execute(
        update(collection_items)
        .where(collection_items.c.collection_id == collection_id, collection_items.c.paper_id == paper_id)
        .values(note=note)
    )
    return result.rowcount == 1


def list_item_ids(conn: Connection, collection_id: int) -> list[int]:
    """The collection's paper ids in their order."""
    rows = conn.execute(
        select(collection_items.c.paper_id)
        .where(collection_items.c.collection_id == collection_id)
        .order_by(collection_items.c.position, collection_items.c.paper_id)
    )
    return [int(value) for value in rows.scalars()]


def write_item_order(conn: Connection, collection_id: int, paper_ids: Sequence[int]) -> None:
    """Number the papers 0.. in the order given (the caller passes every paper of the collection once)."""
    if not paper_ids:
        return
    conn.execute(
        update(collection_items)
        .where(collection_items.c.collection_id == collection_id, collection_items.c.paper_id == bindparam("_paper"))
        .values(position=bindparam("_position")),
        [{"_paper": paper_id, "_position": position} for position, paper_id in enumerate(paper_ids)],
    )


def list_items(conn: Connection, collection_id: int, *, limit: int, offset: int = 0) -> list[CollectionItem]:
    """A page of the collection's papers in order, with notes."""
    rows = conn.execute(
        select(collection_items)
        .where(collection_items.c.collection_id == collection_id)
        .order_by(collection_items.c.position, collection_items.c.paper_id)
        .limit(limit)
        .offset(offset)
    ).all()
    found = {paper.id: paper for paper in get_papers(conn, [int(row.paper_id) for row in rows])}
    return [
        CollectionItem(
            paper=found[row.paper_id], position=int(row.position), note=row.note, added_at=as_utc(row.added_at)
        )
        for row in rows
        if row.paper_id in found
    ]
