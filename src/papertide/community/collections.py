"""Collections: members gather papers in ordered lists with a note per paper (issue 11).

Only the owner changes a collection. A private collection is readable by its owner only: to
anyone else it does not exist (NotFound, not Forbidden, so its existence is not revealed).
Titles, descriptions and notes are plain text (domain/collections.py).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, Engine

from papertide.community.guard import require_writer, take_slot
from papertide.community.policy import CommunityPolicy
from papertide.domain.clock import Clock, utc_now
from papertide.domain.collections import (
    Collection,
    CollectionItem,
    parse_description,
    parse_note,
    parse_title,
    slugify,
)
from papertide.domain.errors import Forbidden, InvalidInput, NotFound
from papertide.store.collections import (
    count_member_collections,
    delete_collection,
    delete_item,
    get_collection,
    get_collection_by_slug,
    insert_collection,
    insert_item,
    list_collection_ids_with_paper,
    list_item_ids,
    list_items,
    list_member_collections,
    list_public_collections,
    list_public_collections_with_paper,
    touch_collection,
    update_collection,
    write_item_note,
    write_item_order,
)
from papertide.store.engine import begin_write
from papertide.store.members import get_user_by_handle
from papertide.store.papers import get_papers


def _readable(collection: Collection | None, viewer_id: int | None, what: str) -> Collection:
    if collection is None or (not collection.is_public and collection.owner_id != viewer_id):
        raise NotFound(f"no collection {what}")
    return collection


class Collections:
    """The collection service of one database."""

    def __init__(self, engine: Engine, policy: CommunityPolicy | None = None, clock: Clock = utc_now) -> None:
        self.engine = engine
        self.policy = policy or CommunityPolicy()
        self.clock = clock

    # --- reading ------------------------------------------------------------------------------

    def read(self, collection_id: int, viewer_id: int | None = None) -> Collection:
        """A collection the viewer may read; NotFound otherwise."""
        with self.engine.connect() as conn:
            return _readable(get_collection(conn, collection_id), viewer_id, str(collection_id))

    def read_by_slug(self, handle: str, slug: str, viewer_id: int | None = None) -> Collection:
        """A collection by its owner's handle and its slug (``/u/<handle>/collections/<slug>``)."""
        with self.engine.connect() as conn:
            owner = get_user_by_handle(conn, handle)
            found = get_collection_by_slug(conn, owner.id, slug) if owner else None
            return _readable(found, viewer_id, f"{slug!r} of @{handle}")

    def read_items(
        self, collection_id: int, viewer_id: int | None = None, *, limit: int = 100, offset: int = 0
    ) -> list[CollectionItem]:
        """A page of a readable collection's papers in order, with notes."""
        with self.engine.connect() as conn:
            _readable(get_collection(conn, collection_id), viewer_id, str(collection_id))
            return list_items(conn, collection_id, limit=limit, offset=offset)

    def list_for_member(self, owner_id: int, viewer_id: int | None = None) -> list[Collection]:
        """A member's collections: all of them for the member, the public ones for everyone else."""
        with self.engine.connect() as conn:
            return list_member_collections(conn, owner_id, public_only=owner_id != viewer_id)

    def list_public(self, *, limit: int = 30, offset: int = 0) -> list[Collection]:
        """Public collections with papers, most recently changed first."""
        with self.engine.connect() as conn:
            return list_public_collections(conn, limit=limit, offset=offset)

    def list_public_with_paper(self, paper_id: int, *, limit: int = 20) -> list[Collection]:
        """Public collections that include a paper (shown on its page)."""
        with self.engine.connect() as conn:
            return list_public_collections_with_paper(conn, paper_id, limit=limit)

    def list_holding(self, owner_id: int, paper_id: int) -> set[int]:
        """Ids of the member's collections that already hold the paper."""
        with self.engine.connect() as conn:
            return list_collection_ids_with_paper(conn, owner_id, paper_id)

    # --- writing ------------------------------------------------------------------------------

    def create(self, owner_id: int, title: str, *, description: str = "", is_public: bool = False) -> Collection:
        """Create a collection (private unless asked); its slug comes from the title."""
        clean_title, clean_description = parse_title(title), parse_description(description)
        now = self.clock()
        with begin_write(self.engine) as conn:
            member = require_writer(conn, owner_id)
            self._take_slot(conn, member.id)
            if count_member_collections(conn, member.id) >= self.policy.collections_per_member:
                raise InvalidInput(
                    "title", f"you have {self.policy.collections_per_member} collections, the most one member may have"
                )
            collection_id = insert_collection(
                conn,
                owner_id=member.id,
                slug=slugify(clean_title),
                title=clean_title,
                description=clean_description,
                is_public=is_public,
                now=now,
            )
            return self._get(conn, collection_id)

    def update(
        self,
        owner_id: int,
        collection_id: int,
        *,
        title: str | None = None,
        description: str | None = None,
        is_public: bool | None = None,
    ) -> Collection:
        """Rename, describe or change the visibility of one's collection (the slug stays, so links keep working)."""
        values: dict[str, object] = {}
        if title is not None:
            values["title"] = parse_title(title)
        if description is not None:
            values["description"] = parse_description(description)
        if is_public is not None:
            values["is_public"] = bool(is_public)
        with begin_write(self.engine) as conn:
            self._owned(conn, owner_id, collection_id)
            if values:
                update_collection(conn, collection_id, values, self.clock())
            return self._get(conn, collection_id)

    def delete(self, owner_id: int, collection_id: int) -> None:
        """Delete one's collection and its notes (the papers stay in papertide)."""
        with begin_write(self.engine) as conn:
            self._owned(conn, owner_id, collection_id)
            delete_collection(conn, collection_id)

    def add_paper(self, owner_id: int, collection_id: int, paper_id: int, *, note: str = "") -> bool:
        """Append a paper to one's collection; False when it was already there (its note is left alone)."""
        text = parse_note(note)
        now = self.clock()
        with begin_write(self.engine) as conn:
            self._owned(conn, owner_id, collection_id)
            if not get_papers(conn, [paper_id]):
                raise NotFound(f"no paper with id {paper_id}")
            present = list_item_ids(conn, collection_id)
            if paper_id in present:
                return False
            if len(present) >= self.policy.papers_per_collection:
                raise InvalidInput("paper_id", f"a collection holds at most {self.policy.papers_per_collection} papers")
            added = insert_item(conn, collection_id, paper_id, text, now)
            if added:
                touch_collection(conn, collection_id, now)
            return added

    def remove_paper(self, owner_id: int, collection_id: int, paper_id: int) -> bool:
        """Take a paper out of one's collection; False when it was not in it."""
        with begin_write(self.engine) as conn:
            self._owned(conn, owner_id, collection_id)
            removed = delete_item(conn, collection_id, paper_id)
            if removed:
                touch_collection(conn, collection_id, self.clock())
            return removed

    def write_note(self, owner_id: int, collection_id: int, paper_id: int, note: str) -> None:
        """Replace the note on a paper of one's collection ("" removes it)."""
        text = parse_note(note)
        with begin_write(self.engine) as conn:
            self._owned(conn, owner_id, collection_id)
            if not write_item_note(conn, collection_id, paper_id, text):
                raise NotFound(f"paper {paper_id} is not in this collection")
            touch_collection(conn, collection_id, self.clock())

    def reorder(self, owner_id: int, collection_id: int, paper_ids: Sequence[int]) -> None:
        """Put the collection's papers in this order; it must name each of them exactly once."""
        with begin_write(self.engine) as conn:
            self._owned(conn, owner_id, collection_id)
            current = list_item_ids(conn, collection_id)
            if len(paper_ids) != len(current) or set(paper_ids) != set(current):
                raise InvalidInput(
                    "order", f"list each of the collection's {len(current)} papers exactly once (got {len(paper_ids)})"
                )
            write_item_order(conn, collection_id, paper_ids)
            touch_collection(conn, collection_id, self.clock())

    def move_paper(self, owner_id: int, collection_id: int, paper_id: int, position: int) -> None:
        """Move one paper to a position (0 is first; past the end means last), for up/down buttons."""
        with begin_write(self.engine) as conn:
            self._owned(conn, owner_id, collection_id)
            order = list_item_ids(conn, collection_id)
            if paper_id not in order:
                raise NotFound(f"paper {paper_id} is not in this collection")
            order.remove(paper_id)
            order.insert(max(0, min(position, len(order))), paper_id)
            write_item_order(conn, collection_id, order)
            touch_collection(conn, collection_id, self.clock())

    # --- rules --------------------------------------------------------------------------------

    def _owned(self, conn: Connection, owner_id: int, collection_id: int) -> Collection:
        member = require_writer(conn, owner_id)
        collection = get_collection(conn, collection_id)
        if collection is None or (not collection.is_public and collection.owner_id != member.id):
            raise NotFound(f"no collection {collection_id}")
        if collection.owner_id != member.id:
            raise Forbidden("only the owner can change a collection")
        self._take_slot(conn, member.id)
        return collection

    def _take_slot(self, conn: Connection, member_id: int) -> None:
        take_slot(
            conn,
            f"collection:user:{member_id}",
            self.policy.collection_actions_per_window,
            self.policy.action_window,
            self.clock(),
            "collection changes",
        )

    @staticmethod
    def _get(conn: Connection, collection_id: int) -> Collection:
        collection = get_collection(conn, collection_id)
        if collection is None:
            raise NotFound(f"no collection {collection_id}")
        return collection
